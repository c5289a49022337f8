"""What only QuickBooks asks of the engine, end to end against its sandbox (the rest runs for every ledger
from tests/sync/test_books_agree.py and test_faults.py): reads made while building a write, and the US
company's automated sales tax, whose own arithmetic the connector reconciles to CashFlow's total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sync.ledger_world import COMPANIES, LedgerWorld, start_world

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

pytestmark = pytest.mark.xdist_group("xero-sandbox")


@pytest.fixture
def world(request, db, settings):
    yield from start_world(request, settings, COMPANIES["quickbooks-au"])


@pytest.fixture
def us_world(request, db, settings):
    yield from start_world(request, settings, COMPANIES["quickbooks-us"])


def remote_invoice(world: LedgerWorld, number: str) -> dict:
    (found,) = [
        i for i in world.harness.remote_documents(world.tenant_id, "Invoice") if i["DocNumber"] == number
    ]
    return found


def test_a_transient_failure_while_building_is_retried_not_flagged(world):
    """QuickBooks reads while building (a payment's SyncToken before editing it): a 500 on that read wrote
    nothing, so the record waits and goes again instead of asking the user for attention."""
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.refund_payment(payment, Decimal("100.00"))
    world.harness.sandbox.control.set_faults(
        {
            "kind": "server_error",
            "tenant_id": world.tenant_id,
            "method": "GET",
            "path": "*/payment/*",
            "count": 1,
        }
    )
    sync_connection(world.connection.pk, budget_s=30)
    reversal = SyncRecord.objects.get(kind=ObjectKind.PAYMENT_REVERSAL)
    assert reversal.state == SyncState.RETRYING, reversal.last_error
    world.drain()
    assert world.all_synced()
    assert Decimal(str(remote_invoice(world, invoice.number)["Balance"])) == Decimal("500.00")


def test_a_delete_whose_answer_was_lost_is_settled_by_looking_it_up_not_flagged(world):
    """Found by the reliability campaign (`make chaos`): a chargeback deletes the payment, QuickBooks commits
    the delete and the answer is lost. Replaying the request means building it again, which reads the
    payment first, and the payment is gone (610): that was flagged to the user as a mapping problem, and
    the invoice's cancellation queued behind it never reached QuickBooks. Gone is what the delete wanted:
    the record in doubt is settled by asking the ledger, as after any unknown outcome."""
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.charge_back(payment)
    services.cancel_invoice(Invoice.objects.get(pk=invoice.pk))
    world.harness.sandbox.control.set_faults(
        {
            "kind": "drop_after_commit",
            "tenant_id": world.tenant_id,
            "method": "POST",
            "path": "*/payment",
            "count": 1,
        }
    )
    world.drain()
    assert world.all_synced()
    assert world.harness.remote_documents(world.tenant_id, "Payment") == []
    voided = remote_invoice(world, invoice.number)
    assert Decimal(str(voided["TotalAmt"])) == 0 and voided["PrivateNote"].startswith("Voided")


def test_a_us_invoice_keeps_cashflows_total_beside_quickbooks_own_sales_tax(us_world):
    # CashFlow: 24.17 + 24.17 = 48.34 tax, a line at a time; QuickBooks' automated sales tax on 666.66: 48.33.
    lines = [
        services.LineInput("system", f"Panel bank {n}", Decimal(1), Decimal("333.33"), us_world.gst.id)
        for n in range(2)
    ]
    invoice = us_world.issue_lines(lines)
    services.record_payment(invoice, Decimal("715.00"), "bank_transfer")
    us_world.drain()
    assert us_world.all_synced()
    remote = remote_invoice(us_world, invoice.number)
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("715.00")
    assert Decimal(str(remote["Balance"])) == 0
    assert Decimal(str(remote["TxnTaxDetail"]["TotalTax"])) == Decimal("48.33")
