"""A hypothesis state machine drives random sequences of issue, pay, refund, charge back, undo and cancel
through the services, and checks the books after every step: what an invoice says was paid is what its
payments still hold, nothing is overpaid, a cancelled invoice is balanced to zero by its credit notes, and
every change that committed has exactly one event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledgerlink.cashflow import services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.models import DomainEvent, Invoice, InvoiceStatus, Payment, PaymentStatus

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("700"), places=2)
methods = st.sampled_from(["card", "bank_transfer", "cash", "cheque", "finance"])
LIVE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


class InvoiceLifecycle(RuleBasedStateMachine):
    """State lives in the database; the machine only remembers ids and how many changes succeeded."""

    organisation = customer = tax_rate = None

    @initialize()
    def setup(self) -> None:
        # Each example runs in a savepoint rolled back at teardown, so examples start from the same state.
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.invoice_ids: list = []
        self.payment_ids: list = []
        self.changes = 0
        # Something to act on from the first step: two issued invoices, one of them part paid twice.
        for amount in (Decimal("500.00"), Decimal("1234.56")):
            self.create(amount, issue=True)
        self.pay(1, Decimal("300.00"), "card")
        self.pay(1, Decimal("200.00"), "cheque")

    def teardown(self) -> None:
        if hasattr(self, "savepoint"):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

    def _invoice(self, index: int, *statuses: str) -> Invoice | None:
        """One of the invoices (in one of `statuses`, if given): steps mostly act where they can."""
        invoices = Invoice.objects.filter(pk__in=self.invoice_ids).order_by("created_at", "id")
        invoices = list(invoices.filter(status__in=statuses) if statuses else invoices)
        return invoices[index % len(invoices)] if invoices else None

    def _payment(self, index: int) -> Payment | None:
        payments = list(
            Payment.objects.filter(pk__in=self.payment_ids, status__in=LIVE).order_by("created_at")
        )
        return payments[index % len(payments)] if payments else None

    def _attempt(self, action) -> object | None:
        """Run one service call; a refusal must leave everything as it was, so it is not counted."""
        before = DomainEvent.objects.count()
        try:
            result = action()
        except ValidationError:
            assert DomainEvent.objects.count() == before
            return None
        self.changes += 1
        return result

    @rule(amount=amounts, issue=st.booleans())
    def create(self, amount: Decimal, issue: bool) -> None:
        data = services.InvoiceInput(
            customer_id=self.customer.pk,
            kind="custom",
            due_date=dt.date(2099, 1, 1),
            tax_inclusive=True,
            lines=(services.LineInput("service", "Work", Decimal(1), amount * 2, self.tax_rate.pk),),
        )
        invoice = services.create_invoice(self.organisation, data)
        self.invoice_ids.append(invoice.pk)
        if issue:
            self._attempt(lambda: services.issue_invoice(invoice))

    @rule(index=st.integers(0, 50))
    def issue(self, index: int) -> None:
        if invoice := self._invoice(index):
            self._attempt(lambda: services.issue_invoice(invoice))

    @rule(index=st.integers(0, 50), amount=amounts, method=methods)
    def pay(self, index: int, amount: Decimal, method: str) -> None:
        if invoice := self._invoice(index, InvoiceStatus.ISSUED, InvoiceStatus.PART_PAID):
            payment = self._attempt(lambda: services.record_payment(invoice, amount, method))
            if payment is not None:
                self.payment_ids.append(payment.pk)

    @rule(index=st.integers(0, 50), amount=st.none() | amounts)
    def refund(self, index: int, amount: Decimal | None) -> None:
        if payment := self._payment(index):
            self._attempt(lambda: services.refund_payment(payment, amount))

    @rule(index=st.integers(0, 50))
    def reverse(self, index: int) -> None:
        if payment := self._payment(index):
            action = services.undo_offline_payment if payment.offline else services.charge_back
            self._attempt(lambda: action(payment))

    @rule(index=st.integers(0, 50))
    def cancel(self, index: int) -> None:
        invoice = self._invoice(index, InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.PART_PAID)
        if invoice is None:
            return
        if invoice.status == InvoiceStatus.DRAFT:
            assert services.cancel_invoice(invoice) is None  # never sent: no credit note, no event
        else:
            self._attempt(lambda: services.cancel_invoice(invoice))

    @invariant()
    def books_balance(self) -> None:
        for invoice in Invoice.objects.filter(organisation=self.organisation).prefetch_related("payments"):
            held = sum(payment.remaining_minor for payment in invoice.payments.all())
            assert invoice.amount_paid_minor == held
            assert 0 <= invoice.amount_paid_minor <= invoice.total_minor
            credited = sum(note.amount_minor for note in invoice.credit_notes.all())
            assert invoice.amount_credited_minor == credited
            if invoice.status == InvoiceStatus.CANCELLED and invoice.number:
                assert invoice.amount_credited_minor + invoice.amount_paid_minor == invoice.total_minor
            if invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.PART_PAID, InvoiceStatus.PAID):
                expected = (
                    "paid"
                    if invoice.amount_paid_minor == invoice.total_minor
                    else "part_paid"
                    if invoice.amount_paid_minor
                    else "issued"
                )
                assert invoice.status == expected

    @invariant()
    def one_event_per_change(self) -> None:
        assert DomainEvent.objects.filter(organisation=self.organisation).count() == self.changes


@pytest.mark.django_db
def test_random_lifecycles_keep_the_books(organisation, customer, gst):
    InvoiceLifecycle.organisation, InvoiceLifecycle.customer, InvoiceLifecycle.tax_rate = (
        organisation,
        customer,
        gst,
    )
    run = InvoiceLifecycle.TestCase
    run.settings = settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    run().runTest()
