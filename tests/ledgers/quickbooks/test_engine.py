"""The engine end to end against the QuickBooks sandbox over real HTTP, with no QuickBooks code in the
engine: connect through the ledgers' views, map, issue, pay, refund and cancel through CashFlow's services,
drain the worker, and the company's books equal CashFlow's to the cent."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from ledgerlink.billing.services import enable_connector
from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice, Membership, Organisation, Role, TaxRate
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping
from ledgerlink.sync.models import Attempt, RemoteLink, SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

from .conftest import connect
from .harness import QuickBooksHarness

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class World:
    harness: QuickBooksHarness
    organisation: Organisation
    gst: TaxRate
    customer: Any
    connection: Connection
    clock: Any  # time_machine's traveller: backoff waits are skipped, never slept

    def books(self) -> dict[str, Any]:
        return dict(self.harness.sandbox.control.ledger(self.connection.tenant_id))

    def invoice(self, number: str) -> dict[str, Any]:
        (found,) = [i for i in self.books()["Invoice"] if i.get("DocNumber") == number]
        return found

    def issue(self, *unit_amounts: str) -> Any:
        draft = services.create_invoice(
            self.organisation,
            services.InvoiceInput(
                customer_id=self.customer.id,
                kind="custom",
                due_date=TODAY.date() + dt.timedelta(days=14),
                tax_inclusive=False,
                lines=[
                    services.LineInput("system", f"Panel bank {n}", Decimal(1), Decimal(amount), self.gst.id)
                    for n, amount in enumerate(unit_amounts)
                ],
            ),
        )
        return services.issue_invoice(draft)

    def drain(self, rounds: int = 8) -> None:
        """Run the worker until nothing waits; a backoff is passed by moving the clock to it."""
        for _ in range(rounds):
            sync_connection(self.connection.pk, budget_s=30)
            waiting = SyncRecord.objects.filter(state__in=(SyncState.PENDING, SyncState.RETRYING))
            first = waiting.order_by("next_attempt_at").first()
            if first is None:
                return
            wait = (first.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                self.clock.shift(wait + 1)

    def all_synced(self) -> None:
        states = list(SyncRecord.objects.values_list("kind", "state", "last_error"))
        assert {state for _, state, _ in states} == {SyncState.SYNCED}, states


def build_world(qbo: QuickBooksHarness, country: str, rate: str, tax_code: str, **company: Any) -> Any:
    """An organisation in `country` with one tax rate, connected to a company of that region through the
    views and mapped: revenue to Sales of Product Income, payments to Checking."""
    with time_machine.travel(TODAY, tick=True) as clock:
        organisation = services.create_organisation("Sunny Roofs", country)
        tax = services.create_tax_rate(organisation, f"Sales tax {rate}%", Decimal(rate))
        customer = services.create_customer(
            organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
        )
        user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:8]}", password="x" * 12)
        Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
        enable_connector(organisation, user, "127.0.0.1", "pytest")
        browser = Client()
        browser.force_login(user)
        connection = connect(browser, qbo, organisation, **company)
        TaxRateMapping.objects.create(
            organisation=organisation,
            provider="quickbooks",
            tax_rate=tax,
            account_id=qbo.sales_code,
            ledger_tax_code=tax_code,
        )
        PaymentAccountMapping.objects.create(
            organisation=organisation, provider="quickbooks", account_id=qbo.bank_code, is_default=True
        )
        yield World(qbo, organisation, tax, customer, connection, clock)
    qbo.sandbox.control.clear_faults()


@pytest.fixture
def world(qbo):
    """An AU organisation on an AU company: GST 10% on tax code 4."""
    yield from build_world(qbo, "AU", "10", qbo.tax_code)


@pytest.fixture
def us_world(qbo):
    """A US organisation on a US company with automated sales tax (7.25% in the sandbox's jurisdiction),
    custom transaction numbers turned on."""
    yield from build_world(qbo, "US", "7.25", "TAX", region="US", settings={"custom_txn_numbers": True})


def test_issue_then_pay_and_the_company_books_equal_cashflows_to_the_cent(world):
    # Per-line GST that CashFlow rounds line by line (333.33 x 10% = 33.333 -> 33.33, three times: 99.99)
    # where QuickBooks rounds once (999.99 x 10% = 100.00): the rounding line keeps the total CashFlow's.
    invoice = world.issue("333.33", "333.33", "333.33")
    services.record_payment(invoice, Decimal("500.00"), "bank_transfer")
    world.drain()
    world.all_synced()
    invoice.refresh_from_db()
    books = world.books()
    remote = world.invoice(invoice.number)
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("1099.98")
    assert Decimal(str(remote["Balance"])) == invoice.amount_due == Decimal("599.98")
    (customer,) = [c for c in books["Customer"] if c["DisplayName"] == "Ada Lovelace"]
    assert remote["CustomerRef"]["value"] == customer["Id"]
    (payment,) = books["Payment"]
    assert Decimal(str(payment["TotalAmt"])) == Decimal("500.00")
    assert payment["DepositToAccountRef"]["value"] == world.harness.bank_code
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert record.remote_id == remote["Id"] and not record.total_mismatch


def test_refunds_and_a_chargeback_leave_quickbooks_owing_what_cashflow_says(world):
    refunded = world.issue("1000.00")
    charged = world.issue("500.00")
    part = services.record_payment(refunded, Decimal("600.00"), "card")
    full = services.record_payment(charged, Decimal("550.00"), "card")
    world.drain()
    services.refund_payment(part, Decimal("150.00"))
    services.charge_back(full)
    world.drain()
    world.all_synced()
    for invoice in (refunded, charged):
        invoice.refresh_from_db()
        assert Decimal(str(world.invoice(invoice.number)["Balance"])) == invoice.amount_due, invoice.number
    assert [Decimal(str(p["TotalAmt"])) for p in world.books()["Payment"]] == [Decimal("450.00")]


def test_cancelling_voids_an_unpaid_invoice_and_credits_a_part_paid_one_to_zero(world):
    unpaid = world.issue("300.00")
    paid = world.issue("1000.00")
    services.record_payment(paid, Decimal("400.00"), "bank_transfer")
    world.drain()
    services.cancel_invoice(unpaid)
    credit_note = services.cancel_invoice(paid)
    world.drain()
    world.all_synced()
    voided = world.invoice(unpaid.number)
    assert Decimal(str(voided["TotalAmt"])) == 0 and voided["PrivateNote"].startswith("Voided")
    assert Decimal(str(world.invoice(paid.number)["Balance"])) == 0
    (memo,) = world.books()["CreditMemo"]
    assert (memo["DocNumber"], Decimal(str(memo["TotalAmt"]))) == (credit_note.number, Decimal("700.00"))
    assert Decimal(str(memo["RemainingCredit"])) == 0


def test_an_answer_lost_after_commit_is_replayed_under_the_same_requestid_and_saved_once(world):
    invoice = world.issue("1000.00")
    world.harness.sandbox.control.set_faults(
        {"kind": "drop_after_commit", "tenant_id": world.connection.tenant_id, "path": "*/batch", "count": 2}
    )
    world.drain()
    world.harness.sandbox.control.clear_faults()
    world.drain()
    world.all_synced()
    assert [i["DocNumber"] for i in world.books()["Invoice"]] == [invoice.number]
    assert len([c for c in world.books()["Customer"] if c["DisplayName"] == "Ada Lovelace"]) == 1


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
            "tenant_id": world.connection.tenant_id,
            "method": "GET",
            "path": "*/payment/*",
            "count": 1,
        }
    )
    sync_connection(world.connection.pk, budget_s=30)
    reversal = SyncRecord.objects.get(kind=ObjectKind.PAYMENT_REVERSAL)
    assert reversal.state == SyncState.RETRYING, reversal.last_error
    world.drain()
    world.all_synced()
    assert Decimal(str(world.invoice(invoice.number)["Balance"])) == Decimal("600.00")


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
            "tenant_id": world.connection.tenant_id,
            "method": "POST",
            "path": "*/payment",
            "count": 1,
        }
    )
    world.drain()
    world.all_synced()
    assert world.books()["Payment"] == []
    voided = world.invoice(invoice.number)
    assert Decimal(str(voided["TotalAmt"])) == 0 and voided["PrivateNote"].startswith("Voided")


def test_a_us_invoice_through_the_engine_equals_cashflows_total_with_automated_sales_tax(us_world):
    # CashFlow: 24.17 + 24.17 = 48.34 tax; QuickBooks' automated sales tax on 666.66: 48.33.
    invoice = us_world.issue("333.33", "333.33")
    services.record_payment(invoice, Decimal("715.00"), "bank_transfer")
    us_world.drain()
    us_world.all_synced()
    remote = us_world.invoice(invoice.number)
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("715.00")
    assert Decimal(str(remote["Balance"])) == 0
    assert Decimal(str(remote["TxnTaxDetail"]["TotalTax"])) == Decimal("48.33")


def test_an_invoice_already_in_quickbooks_is_linked_not_duplicated(world):
    """A DocNumber QuickBooks already holds (6140) is looked up and linked when its total is CashFlow's."""
    invoice = world.issue("1000.00")
    world.drain()
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    remote_id = record.remote_id
    # The link is lost (a restore from backup): the engine sends the invoice again under a new key.
    SyncRecord.objects.filter(pk=record.pk).update(state=SyncState.PENDING, remote_id="", generation=9)
    RemoteLink.objects.filter(subject_id=str(invoice.pk)).delete()
    realm = world.connection.tenant_id
    sent = world.harness.calls(realm, method="POST", path="*/batch")
    world.drain()
    assert world.harness.calls(realm, method="POST", path="*/batch") == sent + 1  # refused as 6140
    world.all_synced()
    record.refresh_from_db()
    assert record.remote_id == remote_id
    assert [i["DocNumber"] for i in world.books()["Invoice"]] == [invoice.number]


def test_a_failed_call_keeps_its_intuit_tid_in_the_audit_log(world):
    invoice = world.issue("1000.00")
    world.harness.sandbox.control.set_faults(
        {"kind": "server_error", "tenant_id": world.connection.tenant_id, "path": "*/batch", "count": 1}
    )
    world.drain()
    world.all_synced()
    (failed,) = Attempt.objects.filter(connection=world.connection, response_status=500)
    assert failed.correlation_id and failed.error_code == "server_500"
    assert failed.idempotency_key  # the requestid it was sent under
    assert [i["DocNumber"] for i in world.books()["Invoice"]] == [invoice.number]


@pytest.mark.parametrize("fault", ["offline", "rate_limit"])
def test_a_company_offline_or_throttled_pauses_and_then_saves_once(world, fault):
    invoice = world.issue("1000.00")
    world.harness.sandbox.control.set_faults(
        {"kind": fault, "tenant_id": world.connection.tenant_id, "path": "*/batch", "count": 2}
    )
    world.drain()
    world.all_synced()
    assert [i["DocNumber"] for i in world.books()["Invoice"]] == [invoice.number]
    paused = Attempt.objects.filter(connection=world.connection, response_status__in=(429, 503))
    assert paused.count() == 2 and all(a.correlation_id for a in paused)


def test_an_access_token_refused_as_expired_is_refreshed_and_the_invoice_saved_once(world):
    invoice = world.issue("1000.00")
    world.harness.sandbox.control.set_faults(
        {"kind": "token_expired", "tenant_id": world.connection.tenant_id, "path": "*/batch", "count": 1}
    )
    before = world.connection.access_token
    world.drain()
    world.all_synced()
    world.connection.refresh_from_db()
    assert world.connection.access_token != before and world.connection.status == "active"
    assert [i["DocNumber"] for i in world.books()["Invoice"]] == [invoice.number]
