"""Hostile answers per provider, for the shared suite in test_hostile_answers.py: how each ledger answers a
batch of two invoices when the first was saved and the second is whatever the test puts there, and the ways
its own shapes go wrong. The suite never builds a provider's JSON itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from ledgerlink.ledgers.contract import ItemOutcome, LedgerRequest, LedgerResponse, ObjectKind, SyncItem
from ledgerlink.ledgers.quickbooks.ledger import QuickBooksLedger
from ledgerlink.ledgers.xero.ledger import XeroLedger

from . import documents as d

NUMBERS = ("INV-00001", "INV-00002")
CORRELATION_ID = "c-1"


def items() -> tuple[SyncItem, ...]:
    return tuple(SyncItem(f"rec-{n}", ObjectKind.INVOICE, d.invoice(n)) for n in NUMBERS)


def response(status: int, body: object) -> LedgerResponse:
    return LedgerResponse(status=status, body=body, headers={}, elapsed_ms=1.0, correlation_id=CORRELATION_ID)


@dataclass(frozen=True)
class AnswerKit:
    """One ledger's answers to a two-invoice create."""

    provider: str
    read: Callable[[int, object], list[ItemOutcome]]  # (status, body) -> one outcome per item
    saved_and: Callable[[dict[str, Any]], object]  # a body: first saved, second saved with these fields
    refused_and: Callable[[object], object]  # a body: first saved, second refused in this odd way
    sound_id: str  # the first invoice's id in `saved_and`
    id_field: str
    total_field: str
    wrong_shapes: tuple[object, ...]  # 200 bodies of this ledger's envelope gone wrong
    untrusted: tuple[dict[str, Any], ...] = ()  # fields of the second invoice, beyond bad ids and totals
    odd_refusals: tuple[object, ...] = ()
    failed_bodies: tuple[object, ...] = field(default=())  # this ledger's error bodies gone wrong


def _xero_read(status: int, body: object) -> list[ItemOutcome]:
    request = LedgerRequest("PUT", "/Invoices", items())
    return XeroLedger(client=None).read(response(status, body), request)  # type: ignore[arg-type]


XERO_ID = "00000000-0000-4000-8000-0000000000a1"


def _xero_element(**fields: object) -> dict[str, object]:
    element: dict[str, object] = {
        "InvoiceID": XERO_ID,
        "InvoiceNumber": NUMBERS[0],
        "Total": Decimal("1100.00"),
        "StatusAttributeString": "OK",
    }
    element.update(fields)
    return element


def _xero_saved_and(fields: dict[str, Any]) -> object:
    return {"Invoices": [_xero_element(), _xero_element(**fields, InvoiceNumber=NUMBERS[1])]}


def _xero_refused_and(odd: object) -> object:
    return _xero_saved_and(odd)  # type: ignore[arg-type]


XERO = AnswerKit(
    provider="xero",
    read=_xero_read,
    saved_and=_xero_saved_and,
    refused_and=_xero_refused_and,
    sound_id=XERO_ID,
    id_field="InvoiceID",
    total_field="Total",
    wrong_shapes=(
        {"Invoices": 5},
        {"Invoices": "INV-00001"},
        {"Invoices": {"InvoiceID": XERO_ID}},
        {"Invoices": [None, 7, "x"]},
        {"Elements": []},
    ),
    untrusted=(
        {"StatusAttributeString": "PENDING"},
        {"StatusAttributeString": 5},
        {"ValidationErrors": "oops"},
    ),
    odd_refusals=(
        {"StatusAttributeString": "ERROR", "ValidationErrors": 7},
        {"StatusAttributeString": "ERROR", "LineItems": 7, "ValidationErrors": [{"Message": 5}]},
        {"HasErrors": True, "ValidationErrors": [None, "x", {"Message": "Account code '999' is not valid."}]},
        {"ValidationErrors": [{"Nope": 1}], "Warnings": "w", "LineItems": [None, {"ValidationErrors": 3}]},
    ),
    failed_bodies=({"Elements": 5}, {"Elements": [3]}, {"Elements": "x"}),
)


def reading_ledger() -> QuickBooksLedger:
    """A ledger that only reads answers: it calls nothing but knows its company (it keeps what it made)."""
    return QuickBooksLedger(client=SimpleNamespace(realm_id="hostile-company"))  # type: ignore[arg-type]


def _qbo_read(status: int, body: object) -> list[ItemOutcome]:
    request = LedgerRequest("POST", "/batch", items(), "create")
    return reading_ledger().read(response(status, body), request)


def _qbo_invoice(number: str, **fields: object) -> dict[str, object]:
    invoice: dict[str, object] = {"Id": "146", "DocNumber": number, "TotalAmt": Decimal("1100.00")}
    invoice.update(fields)
    return invoice


def _qbo_batch(second: object) -> object:
    return {"BatchItemResponse": [{"bId": "0", "Invoice": _qbo_invoice(NUMBERS[0])}, second]}


QUICKBOOKS = AnswerKit(
    provider="quickbooks",
    read=_qbo_read,
    saved_and=lambda fields: _qbo_batch({"bId": "1", "Invoice": _qbo_invoice(NUMBERS[1], **fields)}),
    refused_and=lambda odd: _qbo_batch({"bId": "1", "Fault": odd}),
    sound_id="146",
    id_field="Id",
    total_field="TotalAmt",
    wrong_shapes=(
        {"BatchItemResponse": 5},
        {"BatchItemResponse": "0"},
        {"BatchItemResponse": {"bId": "0", "Invoice": _qbo_invoice(NUMBERS[0])}},
        {"BatchItemResponse": [None, 7, "x"]},
        {"BatchItemResponse": [{"bId": "0", "Invoice": 7}, {"bId": "1", "Invoice": [1]}]},
        {"BatchItemResponse": [{"bId": "0", "Fault": "x"}, {"bId": "1", "Fault": [1]}]},
        {"BatchItemResponse": [{"bId": {"a": 1}}, {"bId": None}]},
        {"QueryResponse": {}},
    ),
    odd_refusals=(
        {"Error": 7},
        {"Error": [None, "x", {"Message": 5, "code": {"a": 1}}]},
        {"Error": [], "type": "ValidationFault"},
        {"error": "x", "type": 5},
        {},
    ),
    failed_bodies=(
        {"Fault": 5},
        {"Fault": {"Error": "x"}},
        {"Fault": {"Error": [None]}, "time": 5},
        {"fault": {"error": [{"code": None, "message": {"a": 1}}], "type": "AUTHENTICATION"}},
    ),
)

KITS = {kit.provider: kit for kit in (XERO, QUICKBOOKS)}
