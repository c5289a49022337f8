"""Per-item outcomes from QuickBooks answers. A /batch answer is HTTP 200 with one BatchItemResponse per item,
each carrying its `bId` and either the saved entity or a `Fault` (quickbooks.md 3); items are matched by
`bId`, never by position, and checked by DocNumber where the entity has one, so an id can never be attached to
the wrong item. A single write answers `{"<Entity>": {...}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledgerlink.ledgers import answers
from ledgerlink.ledgers.answers import Malformed
from ledgerlink.ledgers.contract import ItemOutcome, ObjectKind, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import UnknownOutcome
from ledgerlink.ledgers.quickbooks import errors


def remote_ref(entity: Mapping[str, Any], kind: ObjectKind) -> RemoteRef:
    """The object QuickBooks saved; `Malformed` unless its Id is a short string and its total an amount."""
    return RemoteRef(
        kind=kind,
        id=answers.usable_id(entity.get("Id"), "Id"),
        number=str(entity.get("DocNumber") or entity.get("DisplayName") or ""),
        total=answers.amount(entity.get("TotalAmt")),
    )


def found_ref(entity: Any, kind: ObjectKind, noun: str) -> RemoteRef:
    """An object a look-up found: an unreadable row is an UnknownOutcome (the look-up proved nothing)."""
    try:
        if not isinstance(entity, Mapping):
            raise Malformed("a row that is not an object")
        return remote_ref(entity, kind)
    except Malformed as problem:
        raise unreadable(noun, str(problem)) from None


def found_total(entity: Mapping[str, Any], noun: str) -> Decimal | None:
    """A looked-up object's TotalAmt (None when absent); an unreadable one is an UnknownOutcome."""
    try:
        return answers.amount(entity.get("TotalAmt"))
    except Malformed as problem:
        raise unreadable(noun, str(problem)) from None


def unreadable(noun: str, problem: str, correlation_id: str = "") -> UnknownOutcome:
    return answers.unreadable(errors.NAME, noun, problem, correlation_id)


def bid(index: int) -> str:
    """A batch item's id: its position. At most 10 characters when the batch carries a requestid."""
    return str(index)


def _missing(item: SyncItem, noun: str, correlation_id: str) -> ItemOutcome:
    error = answers.not_in_answer(errors.NAME, noun, correlation_id)
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
    if not isinstance(saved, Mapping):
        return _missing(item, noun, correlation_id)
    if number and str(saved.get("DocNumber") or "") != number:
        # The answer names another document than the one sent: never link it.
        return _missing(item, noun, correlation_id)
    try:
        ref = remote_ref(saved, kind)
    except Malformed as problem:
        # Not refused, not plainly saved: it may be in QuickBooks. Look it up before sending again.
        return ItemOutcome(record_id=item.record_id, error=unreadable(noun, str(problem), correlation_id))
    return ItemOutcome(record_id=item.record_id, remote=ref)


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
    by_bid = {str(a.get("bId")): a for a in answers.objects(listed)}
    outcomes = []
    for index, item in enumerate(items):
        answer = by_bid.get(bid(index))
        if answer is None:
            outcomes.append(_missing(item, noun, correlation_id))
            continue
        number = numbers[index] if numbers else ""
        outcomes.append(entity_outcome(item, answer, entity, kind, noun, number, correlation_id))
    return outcomes
