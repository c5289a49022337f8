"""Hostile or broken Xero answers (malformed JSON, wrong types, unknown statuses, huge bodies) give every
item a classified LedgerError: never an exception out of `read`, never an item without an outcome, and
never an id we could not trust. Crafted answers, no sandbox; huge bodies are cut off in
http.py (tests/ledgers/test_http.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers.contract import LedgerRequest, LedgerResponse, ObjectKind, SyncItem
from ledgerlink.ledgers.errors import LedgerError, NeedsAttention, UnknownOutcome
from ledgerlink.ledgers.xero.ledger import XeroLedger

from .. import documents as d

GUID = "00000000-0000-4000-8000-0000000000a1"
NUMBERS = ("INV-00001", "INV-00002")


def _items() -> tuple[SyncItem, ...]:
    return tuple(SyncItem(f"rec-{n}", ObjectKind.INVOICE, d.invoice(n)) for n in NUMBERS)


def _read(status: int, body: object) -> list:  # type: ignore[type-arg]
    request = LedgerRequest("PUT", "/Invoices", _items())
    response = LedgerResponse(status=status, body=body, headers={}, elapsed_ms=1.0, correlation_id="c-1")
    return XeroLedger(client=None).read(response, request)  # type: ignore[arg-type]


def _element(**fields: object) -> dict[str, object]:
    element: dict[str, object] = {
        "InvoiceID": GUID,
        "InvoiceNumber": NUMBERS[0],
        "Total": Decimal("1100.00"),
        "StatusAttributeString": "OK",
    }
    element.update(fields)
    return element


def _saved_and(other: dict[str, object]) -> dict[str, object]:
    """An answer whose first element is sound and whose second is `other` (numbered as the second item)."""
    return {"Invoices": [_element(), {**other, "InvoiceNumber": NUMBERS[1]}]}


@pytest.mark.parametrize(
    "body",
    [
        "<html>Bad gateway</html>",  # not JSON: http.py hands the text over
        None,
        [],
        [1, 2],
        {"Invoices": 5},
        {"Invoices": "INV-00001"},
        {"Invoices": {"InvoiceID": GUID}},
        {"Invoices": [None, 7, "x"]},
        {"Elements": []},
    ],
)
def test_an_answer_of_the_wrong_shape_leaves_every_item_unknown(body):
    outcomes = _read(200, body)
    assert [o.record_id for o in outcomes] == ["rec-INV-00001", "rec-INV-00002"]
    assert all(isinstance(o.error, UnknownOutcome) and o.remote is None for o in outcomes)


@pytest.mark.parametrize(
    "element",
    [
        _element(InvoiceID={"id": GUID}),
        _element(InvoiceID=12345),
        _element(InvoiceID=""),
        _element(InvoiceID="   "),
        _element(InvoiceID="x" * 10_000),
        _element(InvoiceID=None),
        _element(Total="abc"),
        _element(Total="NaN"),
        _element(Total="Infinity"),
        _element(Total={"Amount": 1}),
        _element(Total=True),
        _element(StatusAttributeString="PENDING"),
        _element(StatusAttributeString=5),
        _element(ValidationErrors="oops"),
    ],
)
def test_an_element_we_cannot_trust_is_unknown_and_its_neighbour_still_saved(element):
    first, second = _read(200, _saved_and(element))
    assert first.error is None and first.remote.id == GUID
    assert isinstance(second.error, UnknownOutcome) and second.remote is None
    assert second.error.code == "unreadable_answer" and second.error.correlation_id == "c-1"


@pytest.mark.parametrize(
    "element",
    [
        _element(StatusAttributeString="ERROR", ValidationErrors=7),
        _element(StatusAttributeString="ERROR", LineItems=7, ValidationErrors=[{"Message": 5}]),
        _element(
            HasErrors=True, ValidationErrors=[None, "x", {"Message": "Account code '999' is not valid."}]
        ),
        _element(ValidationErrors=[{"Nope": 1}], Warnings="w", LineItems=[None, {"ValidationErrors": 3}]),
    ],
)
def test_a_refusal_with_odd_parts_is_still_a_refusal(element):
    _, second = _read(200, _saved_and(element))
    assert isinstance(second.error, NeedsAttention) and second.remote is None


@pytest.mark.parametrize(
    "body",
    [{"Elements": 5}, {"Elements": [3]}, {"Elements": "x"}, {"Message": {"a": 1}}, "plain", None, [1]],
)
@pytest.mark.parametrize("status", [400, 404, 409, 418, 500, 502, 599])
def test_a_failed_request_of_any_shape_is_a_classified_error(status, body):
    outcomes = _read(status, body)
    assert len(outcomes) == 2
    assert all(isinstance(o.error, LedgerError) and o.remote is None for o in outcomes)
