"""Per-item outcomes from QuickBooks answers. A /batch answer is HTTP 200 with one BatchItemResponse per item,
each carrying its `bId` and either the saved entity or a `Fault` (quickbooks.md 3); items are matched by
`bId`, never by position, and checked by DocNumber where the entity has one, so an id can never be attached to
the wrong item. A single write answers `{"<Entity>": {...}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledgerlink.ledgers.contract import ItemOutcome, ObjectKind, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import UnknownOutcome
from ledgerlink.ledgers.quickbooks import errors


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def remote_ref(entity: Mapping[str, Any], kind: ObjectKind) -> RemoteRef:
    return RemoteRef(
        kind=kind,
        id=str(entity["Id"]),
        number=str(entity.get("DocNumber") or entity.get("DisplayName") or ""),
        total=decimal_or_none(entity.get("TotalAmt")),
    )


def bid(index: int) -> str:
    """A batch item's id: its position. At most 10 characters when the batch carries a requestid."""
    return str(index)


def _missing(item: SyncItem, noun: str, correlation_id: str) -> ItemOutcome:
    error = UnknownOutcome(
        f"QuickBooks' answer did not mention this {noun}; it will be looked up before anything is sent "
        "again.",
        code="not_in_answer",
        correlation_id=correlation_id,
    )
    return ItemOutcome(record_id=item.record_id, error=error)


def entity_outcome(
    item: SyncItem,
    answer: Mapping[str, Any],
    entity: str,
    kind: ObjectKind,
    noun: str,
    number: str = "",
    correlation_id: str = "",
) -> ItemOutcome:
    """One item's answer (a batch item, or a single write's body) → its outcome."""
    found = errors.faults(answer)
    if found:
        error = errors.fault_error(found[0], noun, correlation_id)
        return ItemOutcome(record_id=item.record_id, error=error)
    saved = answer.get(entity)
    if not isinstance(saved, Mapping) or not saved.get("Id"):
        return _missing(item, noun, correlation_id)
    if number and str(saved.get("DocNumber") or "") != number:
        # The answer names another document than the one sent: never link it.
        return _missing(item, noun, correlation_id)
    return ItemOutcome(record_id=item.record_id, remote=remote_ref(saved, kind))


def read_batch(
    body: Any,
    items: Sequence[SyncItem],
    entity: str,
    kind: ObjectKind,
    noun: str,
    numbers: Sequence[str] = (),
    correlation_id: str = "",
) -> list[ItemOutcome]:
    """Outcomes for a /batch answer, one per item, matched by bId."""
    listed = body.get("BatchItemResponse") if isinstance(body, Mapping) else None
    by_bid = {str(a.get("bId")): a for a in listed or [] if isinstance(a, Mapping)}
    outcomes = []
    for index, item in enumerate(items):
        answer = by_bid.get(bid(index))
        if answer is None:
            outcomes.append(_missing(item, noun, correlation_id))
            continue
        number = numbers[index] if numbers else ""
        outcomes.append(entity_outcome(item, answer, entity, kind, noun, number, correlation_id))
    return outcomes
