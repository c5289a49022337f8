"""The engine end to end over real HTTP against the Xero sandbox: connect through the ledgers' views, map,
issue/pay/refund/cancel through cashflow's services, and check the sandbox's books to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import Attempt, SyncRecord, SyncState
from ledgerlink.sync.requeue import retry_failed

from .conftest import issue
from .xero_world import build_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")


def test_xero_keeps_one_contact_a_live_remainder_payment_and_one_credit_note_per_credit(world):
    # What the shared suite (test_books_agree.py) cannot say in neutral words: the shapes in Xero's books.
    invoice = issue(world.organisation, world.customer, world.gst, "1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.refund_payment(payment, Decimal("150.00"))
    credit_note = services.cancel_invoice(invoice)
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    contacts = [c for c in world.ledger()["Contacts"] if c.get("EmailAddress") == "ada@example.com"]
    assert len(contacts) == 1
    live = [p for p in world.ledger()["Payments"] if p["Status"] == "AUTHORISED"]
    assert [Decimal(str(p["Amount"])) for p in live] == [Decimal("450.00")]
    notes = world.ledger()["CreditNotes"]
    assert [(n["CreditNoteNumber"], Decimal(str(n["Total"]))) for n in notes] == [
        (credit_note.number, Decimal("550.00"))
    ]
    assert world.by_number()[invoice.number]["Status"] == "PAID"


def test_the_audit_log_counts_real_calls_and_keeps_no_secrets(world):
    issue(world.organisation, world.customer, world.gst)
    world.drain()
    attempts = list(Attempt.objects.filter(connection=world.connection).order_by("id"))
    assert [(a.method, a.path, a.response_status, a.outcome) for a in attempts] == [
        ("GET", "contacts (match by email)", None, "ok"),
        ("PUT", "/Contacts", 200, "ok"),
        ("PUT", "/Invoices", 200, "ok"),
    ]
    assert sum(a.calls_used for a in attempts) == len(world.control.requests(world.tenant_id)) - 4  # chart
    world.connection.refresh_from_db()
    logged = " ".join(str(value) for a in attempts for value in a.__dict__.values())
    assert world.connection.access_token not in logged and world.connection.refresh_token not in logged


def test_an_invoice_in_a_currency_xero_has_not_added_waits_with_what_to_do_then_syncs(
    db, settings, xero_sandbox
):
    # An installer invoicing in pounds connected to books Xero keeps in Australian dollars.
    world = build_world(settings, xero_sandbox, region="AU", country="GB")
    invoice = issue(world.organisation, world.customer, world.gst, "500.00")
    world.drain()
    held = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert held.state == SyncState.NEEDS_ATTENTION and held.error_is_configuration
    assert "takes documents in AUD only, and this one is in GBP" in held.last_error
    assert world.writes("*/Invoices") == []  # held back before any call
    # The bookkeeper adds GBP in Xero, LedgerLink reloads the chart, and the retry goes through.
    world.control.update_settings(world.tenant_id, currencies=["GBP"])
    refresh_chart(world.connection)
    retry_failed(world.organisation)
    world.drain()
    assert world.by_number()[invoice.number]["CurrencyCode"] == "GBP"
    assert SyncRecord.objects.get(kind=ObjectKind.INVOICE).state == SyncState.SYNCED
