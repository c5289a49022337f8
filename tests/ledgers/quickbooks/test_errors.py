"""Each QuickBooks failure named by what happens next: the sandbox's injected faults over real HTTP, and the
fault bodies of quickbooks.md section 6 read in both casings, with intuit_tid kept for the audit log."""

from __future__ import annotations

import json
from pathlib import Path

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
        # "Token revoked": the grant is gone, so no refresh is tried.
        ("token_revoked", Reconnect, "token_revoked"),
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


FAULTS = json.loads((Path(__file__).parent / "faults.json").read_text())
KINDS = {k.__name__: k for k in (Conflict, NeedsAttention, Reconnect, Retry, TokenExpired)}


@pytest.mark.parametrize("name", [n for n in FAULTS if not n.startswith("_")])
def test_fault_bodies_from_the_fact_sheet_in_both_casings(name):
    case = FAULTS[name]
    error = errors.request_error(case["status"], case["body"], {}, "invoice", "tid-1")
    assert (type(error), error.code, error.correlation_id) == (KINDS[case["kind"]], case["code"], "tid-1")
    if "configuration" in case:
        assert error.configuration == case["configuration"]
        assert "(field Line." in error.message  # the element QuickBooks named, for the user
    if isinstance(error, Retry) and not isinstance(error, TokenExpired):
        assert error.scope == ("tenant" if case["status"] in (429, 503) else "item")
