"""The engine end to end, for every kind of company in `COMPANIES` (Xero's AU organisation; QuickBooks' AU
company with GST codes, its US company with automated sales tax and one with no 0% code in use; and
Tally, the test-only ledger): connect through the ledgers' views, map from the suggestion, issue, pay,
refund, charge back, undo and cancel through CashFlow's services, drive the worker, and read the ledger's
books to the cent. Nothing here knows a ledger's wire."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState

from .ledger_world import COMPANIES, start_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")


@pytest.fixture(params=sorted(COMPANIES))
def world(request, db, settings):
    yield from start_world(request, settings, COMPANIES[request.param])


def all_synced() -> bool:
    return set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}


def test_issue_pay_and_the_books_agree_to_the_cent(world):
    invoice = world.issue("1234.57")
    services.record_payment(invoice, Decimal("234.57"), "card")
    world.drain()
    assert all_synced()
    books = world.books(invoice.number)
    assert (books.total, books.amount_due) == (invoice.total, invoice.total - Decimal("234.57"))
    customers = world.harness.customer_numbers(world.tenant_id)
    assert list(customers) == ["Ada Lovelace"]  # one customer, matched or created once
    if world.harness.keeps_customer_ids:
        assert customers == {"Ada Lovelace": str(world.customer.pk)}
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert record.remote_id == books.id and not record.total_mismatch


def test_a_partial_refund_leaves_the_remainder_paid(world):
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.refund_payment(payment, Decimal("150.00"))
    world.drain()
    assert all_synced()
    assert world.books(invoice.number).amount_due == invoice.total - Decimal("450.00")


def test_cancelling_an_unpaid_invoice_voids_it(world):
    invoice = world.issue("300.00")
    world.drain()
    services.cancel_invoice(invoice)
    world.drain()
    assert world.books(invoice.number).voided
    cancellation = SyncRecord.objects.get(kind=ObjectKind.CANCELLATION)
    assert cancellation.state == SyncState.SYNCED and not cancellation.total_mismatch


def test_cancelling_a_part_paid_invoice_credits_the_balance_to_zero(world):
    invoice = world.issue("1000.00")
    services.record_payment(invoice, Decimal("400.00"), "bank_transfer")
    services.cancel_invoice(invoice)
    world.drain()
    assert world.books(invoice.number).amount_due == Decimal("0.00")
    cancellation = SyncRecord.objects.get(kind=ObjectKind.CANCELLATION)
    assert cancellation.state == SyncState.SYNCED and not cancellation.total_mismatch
    unpaid = invoice.total - Decimal("400.00")
    assert cancellation.ledger_total_minor == int(unpaid * 100)  # the credit covers what was left unpaid


def test_every_kind_of_reversal_leaves_the_ledger_owing_what_cashflow_says(world):
    card = world.issue("500.00")
    cash = world.issue("300.00")
    refunded = world.issue("200.00")
    charged = services.record_payment(card, Decimal("500.00"), "card")
    undone = services.record_payment(cash, Decimal("100.00"), "cash")
    full = services.record_payment(refunded, Decimal("200.00"), "bank_transfer")
    world.drain()
    services.charge_back(charged)
    services.undo_offline_payment(undone)
    services.refund_payment(full)
    world.drain()
    assert all_synced()
    for invoice in (card, cash, refunded):
        invoice.refresh_from_db()
        assert world.books(invoice.number).amount_due == invoice.amount_due == invoice.total, invoice.number


def test_money_reversed_after_a_cancellation_still_leaves_nothing_due(world):
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("400.00"), "card")
    services.cancel_invoice(invoice)
    world.drain()
    services.refund_payment(payment, Decimal("100.00"))
    world.drain()
    assert all_synced()
    assert world.books(invoice.number).amount_due == Decimal("0.00")


def test_prices_per_watt_reach_the_ledger_with_cashflows_totals(world):
    # 6,600 W at 0.0275 is exactly 181.50; 6,650 W at 0.0333 is 221.445, CashFlow's 221.45 (half up). Tax
    # per line, half up: at 7.25% 13.16 + 16.06 = 29.22 where a ledger taxing the sum gets 29.21.
    lines = [
        services.LineInput("system", "6.6 kW array", Decimal(6600), Decimal("0.0275"), world.gst.id),
        services.LineInput("adder", "Optimisers", Decimal(6650), Decimal("0.0333"), world.gst.id),
    ]
    invoice = world.issue_lines(lines)
    world.drain()
    assert all_synced()
    books = world.books(invoice.number)
    assert invoice.subtotal == Decimal("402.95")
    assert books.total == invoice.total == invoice.subtotal + invoice.tax
    if not world.company.own_tax_arithmetic:
        assert books.total_tax == invoice.tax
    assert not SyncRecord.objects.get(kind=ObjectKind.INVOICE).total_mismatch
