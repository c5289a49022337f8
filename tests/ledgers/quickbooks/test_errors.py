"""Each QuickBooks failure named by what happens next: the sandbox's injected faults over real HTTP, and the
fault bodies of quickbooks.md section 6 read in both casings, with intuit_tid kept for the audit log."""

from __future__ import annotations

import pytest

from ledgerlink.ledgers.errors import (
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
    UnknownOutcome,
)
from ledgerlink.ledgers.quickbooks import errors

from .conftest import push

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        ("rate_limit", Retry, "rate_limit"),
        ("offline", Retry, "unavailable"),
        ("maintenance", Retry, "unavailable"),
        ("server_error", Retry, "server_500"),
        ("token_expired", TokenExpired, "token_expired"),
        # A revoked token is refused like an expired one; the refresh that follows answers invalid_grant.
        ("token_revoked", TokenExpired, "token_expired"),
        ("drop", UnknownOutcome, "no_response"),
        ("drop_after_commit", UnknownOutcome, "no_response"),
    ],
)
def test_each_injected_fault_is_named_by_what_happens_next(au, fault, kind, code):
    item = au.invoice_item("INV-00030")
    control = au.harness.sandbox.control
    control.set_faults({"kind": fault, "tenant_id": au.realm, "path": "*/batch", "count": 1})
    try:
        with pytest.raises(LedgerError) as raised:
            push(au.ledger, [item], au.mapping, key=f"fault-{fault}")
    finally:
        control.clear_faults()
    error = raised.value
    assert (type(error), error.code) == (kind, code)
    if fault not in ("drop", "drop_after_commit"):
        assert error.correlation_id  # intuit_tid, for the audit log and Intuit support
    if fault in ("rate_limit", "offline", "maintenance"):
        assert error.scope == "tenant" and error.after_s and error.after_s > 0
    if isinstance(error, Retry) and not isinstance(error, TokenExpired):
        assert error.maybe_written == (fault != "rate_limit")
    committed = au.ledger.find_existing(item)
    assert (committed is not None) == (fault == "drop_after_commit")
    # What the engine sends next: the same requestid after an unknown outcome (a committed write is answered
    # from QuickBooks' memory, never made twice); a new one after a failure that may be cached under it,
    # once the look-up above found nothing.
    fresh = isinstance(error, Retry) and error.maybe_written
    (outcome,) = push(au.ledger, [item], au.mapping, key=f"fault-{fault}" + ("-2" if fresh else ""))
    assert outcome.remote.number == "INV-00030"
    assert len(au.documents("Invoice")) == 1


def test_a_duplicate_doc_number_is_a_conflict_found_by_look_up(au):
    (first,) = push(au.ledger, [au.invoice_item("INV-00060")], au.mapping)
    (again,) = push(au.ledger, [au.invoice_item("INV-00060")], au.mapping)
    assert isinstance(again.error, Conflict) and again.error.correlation_id
    assert au.ledger.find_existing(au.invoice_item("INV-00060")) == first.remote


def _fault(code: str, element: str = "", detail: str = "") -> dict:
    entry = {"Message": "m", "Detail": detail or f"detail {code}", "code": code, "element": element}
    return {"Fault": {"Error": [entry], "type": "ValidationFault"}, "time": "t"}


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, _fault("6140"), Conflict, "duplicate"),
        (400, _fault("5010"), Retry, "stale_sync_token"),
        (400, _fault("6240"), NeedsAttention, "name_taken"),
        (400, _fault("2500", "Line.SalesItemLineDetail.ItemRef"), NeedsAttention, "configuration:2500"),
        (400, _fault("6000", "Line.SalesItemLineDetail.TaxCodeRef"), NeedsAttention, "configuration:6000"),
        (400, _fault("6070", "Line.Amount"), NeedsAttention, "validation:6070"),
        (429, _fault("3001"), Retry, "rate_limit"),
        (403, _fault("3100"), Reconnect, "forbidden"),
        (500, _fault("10000"), Retry, "server_500"),
        (
            401,
            {
                "fault": {
                    "error": [{"message": "AuthenticationFailed", "detail": "Token expired", "code": "3200"}]
                }
            },
            TokenExpired,
            "token_expired",
        ),
    ],
)
def test_fault_bodies_in_both_casings(status, body, kind, code):
    error = errors.request_error(status, body, {}, "invoice", "tid-1")
    assert (type(error), error.code, error.correlation_id) == (kind, code, "tid-1")
    if code.startswith("configuration"):
        assert error.configuration and "field Line.SalesItemLineDetail" in error.message
    if code == "validation:6070":
        assert "field Line.Amount" in error.message and not error.configuration
