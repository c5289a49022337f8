"""The engine end to end over real HTTP against the Xero sandbox: connect through the ledgers' views, map,
issue/pay/refund/cancel through cashflow's services, and check the sandbox's books to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import Attempt, SyncRecord, SyncState

from .conftest import issue

pytestmark = pytest.mark.xdist_group("xero-sandbox")


def test_issue_pay_and_the_books_agree_to_the_cent(world):
    invoice = issue(world.organisation, world.customer, world.gst, "1234.57")
    services.record_payment(invoice, Decimal("234.57"), "card")
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    xero = world.by_number()[invoice.number]
    assert Decimal(str(xero["Total"])) == Decimal("1234.57")
    assert Decimal(str(xero["AmountDue"])) == Decimal("1000.00")
    assert xero["Status"] == "AUTHORISED"
    contacts = world.ledger()["Contacts"]
    assert [c["EmailAddress"] for c in contacts if c.get("EmailAddress") == "ada@example.com"] == [
        "ada@example.com"
    ]
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert record.remote_id == xero["InvoiceID"] and not record.total_mismatch


def test_a_partial_refund_leaves_the_remainder_paid_in_xero(world):
    invoice = issue(world.organisation, world.customer, world.gst, "1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.refund_payment(payment, Decimal("150.00"))
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    xero = world.by_number()[invoice.number]
    assert Decimal(str(xero["AmountPaid"])) == Decimal("450.00")
    assert Decimal(str(xero["AmountDue"])) == Decimal("550.00")
    live = [p for p in world.ledger()["Payments"] if p["Status"] == "AUTHORISED"]
    assert [Decimal(str(p["Amount"])) for p in live] == [Decimal("450.00")]


def test_cancelling_an_unpaid_invoice_voids_it(world):
    invoice = issue(world.organisation, world.customer, world.gst, "300.00")
    world.drain()
    services.cancel_invoice(invoice)
    world.drain()
    assert world.by_number()[invoice.number]["Status"] == "VOIDED"
    cancellation = SyncRecord.objects.get(kind=ObjectKind.CANCELLATION)
    assert cancellation.state == SyncState.SYNCED and not cancellation.total_mismatch


def test_cancelling_a_part_paid_invoice_credits_the_balance_to_zero(world):
    invoice = issue(world.organisation, world.customer, world.gst, "1000.00")
    services.record_payment(invoice, Decimal("400.00"), "bank_transfer")
    credit_note = services.cancel_invoice(invoice)
    world.drain()
    xero = world.by_number()[invoice.number]
    assert Decimal(str(xero["AmountDue"])) == Decimal("0.00")
    notes = world.ledger()["CreditNotes"]
    assert [(n["CreditNoteNumber"], Decimal(str(n["Total"]))) for n in notes] == [
        (credit_note.number, Decimal("600.00"))
    ]
    cancellation = SyncRecord.objects.get(kind=ObjectKind.CANCELLATION)
    assert cancellation.state == SyncState.SYNCED and not cancellation.total_mismatch


def test_every_kind_of_reversal_leaves_xero_owing_what_cashflow_says(world):
    card = issue(world.organisation, world.customer, world.gst, "500.00")
    cash = issue(world.organisation, world.customer, world.gst, "300.00")
    refunded = issue(world.organisation, world.customer, world.gst, "200.00")
    charged = services.record_payment(card, Decimal("500.00"), "card")
    undone = services.record_payment(cash, Decimal("100.00"), "cash")
    full = services.record_payment(refunded, Decimal("200.00"), "bank_transfer")
    world.drain()
    services.charge_back(charged)
    services.undo_offline_payment(undone)
    services.refund_payment(full)
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    books = world.by_number()
    for invoice in (card, cash, refunded):
        invoice.refresh_from_db()
        xero = books[invoice.number]
        assert Decimal(str(xero["AmountDue"])) == invoice.amount_due, invoice.number
        assert Decimal(str(xero["AmountPaid"])) == invoice.amount_paid == Decimal("0.00")
    assert [p for p in world.ledger()["Payments"] if p["Status"] == "AUTHORISED"] == []


def test_money_reversed_after_a_cancellation_is_credited_so_xero_still_shows_nothing_due(world):
    invoice = issue(world.organisation, world.customer, world.gst, "1000.00")
    payment = services.record_payment(invoice, Decimal("400.00"), "card")
    services.cancel_invoice(invoice)
    world.drain()
    services.refund_payment(payment, Decimal("100.00"))
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    xero = world.by_number()[invoice.number]
    assert Decimal(str(xero["AmountDue"])) == Decimal("0.00")
    assert Decimal(str(xero["AmountPaid"])) == Decimal("300.00")
    notes = sorted(Decimal(str(n["Total"])) for n in world.ledger()["CreditNotes"])
    assert notes == [Decimal("100.00"), Decimal("600.00")]


def test_the_audit_log_counts_real_calls_and_keeps_no_secrets(world):
    issue(world.organisation, world.customer, world.gst)
    world.drain()
    attempts = list(Attempt.objects.filter(connection=world.connection).order_by("id"))
    assert [(a.method, a.path, a.response_status, a.outcome) for a in attempts] == [
        ("GET", "contacts (match by email)", None, "ok"),
        ("PUT", "/Contacts", 200, "ok"),
        ("PUT", "/Invoices", 200, "ok"),
    ]
    assert sum(a.calls_used for a in attempts) == len(world.control.requests(world.tenant_id)) - 3  # chart
    world.connection.refresh_from_db()
    logged = " ".join(str(value) for a in attempts for value in a.__dict__.values())
    assert world.connection.access_token not in logged and world.connection.refresh_token not in logged
