"""Xero's error bodies (fact-sheet shapes, stored beside this file) → our error kinds; batch answers →
per-item outcomes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ledgerlink.ledgers.contract import ObjectKind, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import Conflict, NeedsAttention, Reconnect, Retry, TokenExpired, UnknownOutcome
from ledgerlink.ledgers.xero import errors, results

from .. import documents as d

BODIES = Path(__file__).parent / "bodies"


def body(name: str) -> object:
    return json.loads((BODIES / name).read_text(), parse_float=Decimal)


TENANT = "tenant"


@pytest.mark.parametrize(
    ("status", "payload", "headers", "kind", "configuration", "retry"),
    [
        (400, "validation_archived_account.json", {}, NeedsAttention, True, None),
        (400, "validation_tax_type.json", {}, NeedsAttention, True, None),
        (400, "validation_overpayment.json", {}, NeedsAttention, False, None),
        (400, "validation_contact_name.json", {}, Retry, None, (0, "item", False)),
        (400, "validation_duplicate_number.json", {}, Conflict, None, None),
        (401, "token_expired_401.json", {}, TokenExpired, None, (0, "item", False)),
        (401, "unauthorized_401.json", {}, Reconnect, None, None),
        (403, "forbidden_403.json", {}, Reconnect, None, None),
        (
            429,
            "",
            {"Retry-After": "37", "X-Rate-Limit-Problem": "minute"},
            Retry,
            None,
            (37, "tenant", False),
        ),
        (
            429,
            "",
            {"X-Rate-Limit-Problem": "concurrent"},
            Retry,
            None,
            (errors.IN_FLIGHT_RETRY_S, "tenant", False),
        ),
        (
            503,
            "The Organisation is offline",
            {},
            Retry,
            None,
            (errors.ORGANISATION_OFFLINE_RETRY_S, "tenant", False),
        ),
        (
            503,
            "The Xero API is currently offline for maintenance",
            {"Retry-After": "120"},
            Retry,
            None,
            (120, "tenant", False),
        ),
        (503, "", {}, Retry, None, (errors.MAINTENANCE_RETRY_S, "tenant", False)),
        (500, "", {}, Retry, None, (None, "item", True)),
        (404, "", {}, NeedsAttention, False, None),
    ],
)
def test_request_errors_are_named_by_what_happens_next(status, payload, headers, kind, configuration, retry):
    """The engine acts on the error's kind and fields (wait, scope, maybe written), never on a status."""
    parsed = body(payload) if payload.endswith(".json") else payload
    error = errors.request_error(status, parsed, headers, "invoice", "corr-1")
    assert type(error) is kind
    assert error.correlation_id == "corr-1"
    if configuration is not None:
        assert error.configuration is configuration
    if retry is not None:
        assert (error.after_s, error.scope, error.maybe_written) == retry


def test_user_messages_are_xeros_sentence_in_plain_words_never_the_body():
    error = errors.request_error(400, body("validation_archived_account.json"), {}, "invoice")
    assert error.message.startswith(
        "Xero refused the invoice because of an account or tax setting: Account code '201'"
    )
    assert "ValidationException" not in error.message and "{" not in error.message
    rate = errors.request_error(429, "", {"X-Rate-Limit-Problem": "day"}, "invoice")
    assert rate.code == "rate_limit:day" and "day" in rate.message


def _items(*numbers: str) -> list[SyncItem]:
    return [SyncItem(f"rec-{n}", ObjectKind.INVOICE, d.invoice(n)) for n in numbers]


def test_batch_answer_is_matched_to_items_by_number_whatever_the_order():
    items = _items("INV-00001", "INV-00002", "INV-00003", "INV-00004")
    outcomes = results.read_batch(
        body("batch_mixed.json"),
        items,
        results.INVOICES,
        ObjectKind.INVOICE,
        ["INV-00001", "INV-00002", "INV-00003", "INV-00004"],
        "corr-9",
    )
    ok, bad, warned, missing = outcomes
    assert (ok.remote.id, ok.remote.number, ok.remote.total, ok.error) == (
        "00000000-0000-4000-8000-0000000000a1",
        "INV-00001",
        Decimal("1100.00"),
        None,
    )
    assert bad.remote is None and isinstance(bad.error, NeedsAttention) and bad.error.configuration
    assert "Account code '999'" in bad.error.message
    assert warned.remote.total == Decimal("550.01")
    assert warned.warnings == ("Only AUTHORISED invoices may have SentToContact updated.",)
    assert isinstance(missing.error, UnknownOutcome)  # never guessed: looked up before a resend
    assert [o.record_id for o in outcomes] == [i.record_id for i in items]


def test_intermediate_step_reports_the_new_id_for_the_next_step():
    item = SyncItem("rec-1", ObjectKind.CANCELLATION, d.cancellation(d.invoice(), "1.00", "1.00"))
    answer = {
        "CreditNotes": [
            {
                "CreditNoteID": "cn-9",
                "CreditNoteNumber": "CN-00001",
                "Total": "1.00",
                "StatusAttributeString": "OK",
            }
        ]
    }
    (outcome,) = results.read_batch(
        answer, [item], results.CREDIT_NOTES, ObjectKind.CANCELLATION, ["CN-00001"], done=False
    )
    assert (outcome.done, dict(outcome.extra_ids)) == (False, {"credit_note": "cn-9"})
    # The credit note's total travels with the intermediate outcome, for the engine to compare to the cent.
    assert outcome.remote == RemoteRef(ObjectKind.CANCELLATION, "cn-9", "CN-00001", Decimal("1.00"))


def test_an_answer_that_is_not_json_leaves_every_item_unknown():
    items = _items("INV-00001")
    (outcome,) = results.read_batch(
        "<html>gateway</html>", items, results.INVOICES, ObjectKind.INVOICE, ["INV-00001"]
    )
    assert isinstance(outcome.error, UnknownOutcome)
