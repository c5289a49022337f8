"""Per-item outcomes from Xero answers. With summarizeErrors=false Xero answers 200 and echoes every element
with StatusAttributeString OK | WARNING (saved, with Warnings) | ERROR (not saved, with ValidationErrors)
(xero.md 3, "Batching"). Elements come back in request order; they are matched to items by position and
checked by number where the object has one, so a reordered answer can never attach an id to the wrong item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledgerlink.ledgers import answers
from ledgerlink.ledgers.answers import Malformed
from ledgerlink.ledgers.contract import ItemOutcome, ObjectKind, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import UnknownOutcome
from ledgerlink.ledgers.xero import errors


@dataclass(frozen=True)
class Collection:
    """How one Xero collection names things."""

    key: str  # envelope key: "Invoices"
    id_field: str  # "InvoiceID"
    noun: str  # for messages: "invoice"
    number_field: str = ""  # "InvoiceNumber": checked against the item's number


CONTACTS = Collection("Contacts", "ContactID", "contact", "ContactNumber")
INVOICES = Collection("Invoices", "InvoiceID", "invoice", "InvoiceNumber")
PAYMENTS = Collection("Payments", "PaymentID", "payment")
CREDIT_NOTES = Collection("CreditNotes", "CreditNoteID", "credit note", "CreditNoteNumber")
ALLOCATIONS = Collection("Allocations", "AllocationID", "allocation")


NAME = "Xero"
KNOWN_STATUSES = frozenset({"", "OK", "WARNING", "ERROR"})


def failed(element: Mapping[str, Any]) -> bool:
    status = str(element.get("StatusAttributeString", "")).upper()
    return (
        status == "ERROR"
        or bool(element.get("HasErrors"))
        or bool(answers.objects(element.get("ValidationErrors")))
    )


def _checked(element: Mapping[str, Any], collection: Collection) -> None:
    """Raise `Malformed` unless the element says plainly that it was saved, with a usable id."""
    status = element.get("StatusAttributeString", "")
    if not isinstance(status, str) or status.upper() not in KNOWN_STATUSES:
        raise Malformed(f"an unknown status {str(status)[:40]!r}")
    if element.get("ValidationErrors") not in (None, []) and not isinstance(
        element.get("ValidationErrors"), list
    ):
        raise Malformed("validation errors that are not a list")
    answers.usable_id(element.get(collection.id_field), collection.id_field)


def remote_ref(element: Mapping[str, Any], collection: Collection, kind: ObjectKind) -> RemoteRef:
    return RemoteRef(
        kind=kind,
        id=str(element[collection.id_field]),
        number=str(element.get(collection.number_field, "")) if collection.number_field else "",
        total=answers.amount(element.get("Total")),
    )


def element_outcome(
    item: SyncItem,
    element: Mapping[str, Any],
    collection: Collection,
    kind: ObjectKind,
    correlation_id: str = "",
    done: bool = True,
) -> ItemOutcome:
    """One echoed element → the item's outcome. An intermediate step (`done=False`) reports the new id in
    `extra_ids` under the collection's noun ("credit_note"), for the next step to use, and its remote ref,
    whose Total (a credit note's) the engine compares to the cent before the last step reports none."""
    if failed(element):
        error = errors.validation_error(errors.element_messages(element), collection.noun, correlation_id)
        return ItemOutcome(record_id=item.record_id, error=error)
    try:
        _checked(element, collection)
        ref = remote_ref(element, collection, kind)
    except Malformed as problem:
        # Not refused, not plainly saved: it may be in Xero. Look it up before sending again, never guess.
        return ItemOutcome(
            record_id=item.record_id, error=unreadable(collection.noun, str(problem), correlation_id)
        )
    warnings = errors.element_warnings(element)
    if not done:
        return ItemOutcome(
            item.record_id,
            remote=ref,
            warnings=warnings,
            extra_ids={collection.noun.replace(" ", "_"): ref.id},
            done=False,
        )
    return ItemOutcome(record_id=item.record_id, remote=ref, warnings=warnings)


def unreadable(noun: str, problem: str, correlation_id: str = "") -> UnknownOutcome:
    """Xero's answer about an object could not be read; it may have been saved."""
    return answers.unreadable(NAME, noun, problem, correlation_id)


def _missing(item: SyncItem, noun: str, correlation_id: str) -> ItemOutcome:
    return ItemOutcome(record_id=item.record_id, error=answers.not_in_answer(NAME, noun, correlation_id))


def read_batch(
    body: Any,
    items: Sequence[SyncItem],
    collection: Collection,
    kind: ObjectKind,
    numbers: Sequence[str] = (),
    correlation_id: str = "",
    done: bool = True,
) -> list[ItemOutcome]:
    """Outcomes for a batch answer, one per item. `numbers` are the items' numbers as sent (for collections
    with a number field): an element is matched by number first, by position otherwise."""
    listed = body.get(collection.key) if isinstance(body, Mapping) else None  # a text body lists nothing
    elements = answers.objects(listed)
    by_number = {str(e.get(collection.number_field)): e for e in elements} if numbers else {}
    outcomes = []
    for index, item in enumerate(items):
        if numbers:
            element = by_number.get(numbers[index])
        else:
            element = elements[index] if index < len(elements) else None
        if element is None:
            outcomes.append(_missing(item, collection.noun, correlation_id))
        else:
            outcomes.append(element_outcome(item, element, collection, kind, correlation_id, done))
    return outcomes
