"""The outbox contract: an event exists if and only if its change committed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from ledgerlink.cashflow import events, services
from ledgerlink.cashflow.models import DomainEvent, EventKind, Invoice, InvoiceStatus

from .helpers import make_invoice


@pytest.fixture
def recorded():
    seen: list[tuple[DomainEvent, bool]] = []

    def handler(event: DomainEvent) -> None:
        seen.append((event, transaction.get_connection().in_atomic_block))

    events.register_handler(handler)
    yield seen
    events.unregister_handler(handler)


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused():
    organisation = services.create_organisation("Autocommit Solar", "NZ")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        events.emit(organisation, EventKind.INVOICE_ISSUED, organisation)
    assert not DomainEvent.objects.exists()


def test_handlers_run_inside_the_transaction_with_the_event(recorded, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    [(event, in_transaction)] = recorded
    assert in_transaction
    assert (event.kind, event.subject_type, event.subject_id) == (
        "invoice.issued",
        "invoice",
        str(invoice.pk),
    )
    assert event.payload == {"number": "INV-00001", "total": "1100.00", "currency": "AUD"}


def test_registering_twice_calls_once(organisation, customer, gst):
    calls: list[int] = []

    def count(event: DomainEvent) -> None:
        calls.append(event.pk)

    events.register_handler(count)
    events.register_handler(count)
    try:
        make_invoice(organisation, customer, gst)
    finally:
        events.unregister_handler(count)
    assert len(calls) == 1


def test_a_failing_handler_rolls_the_change_back(organisation, customer, gst):
    draft = make_invoice(organisation, customer, gst, issue=False)

    def refuse(event: DomainEvent) -> None:
        raise RuntimeError("consumer failed")

    events.register_handler(refuse)
    try:
        with pytest.raises(RuntimeError, match="consumer failed"):
            services.issue_invoice(draft)
    finally:
        events.unregister_handler(refuse)
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT and draft.number == ""
    assert not DomainEvent.objects.exists()
    # The number was not consumed either: the next issue gets INV-00001.
    assert services.issue_invoice(draft).number == "INV-00001"


def test_a_rolled_back_change_leaves_no_event(organisation, customer, gst):
    draft = make_invoice(organisation, customer, gst, issue=False)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        services.issue_invoice(draft)
        1 / 0  # noqa: B018 - the caller's transaction fails after the service returned
    assert not DomainEvent.objects.exists()
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_every_state_change_emits_one_event(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    card = services.record_payment(invoice, Decimal("100"), "card")
    cash = services.record_payment(invoice, Decimal("50"), "cash")
    services.refund_payment(card, Decimal("10"))
    services.charge_back(card)
    services.undo_offline_payment(cash)
    services.cancel_invoice(invoice)
    kinds = list(DomainEvent.objects.values_list("kind", flat=True))
    assert kinds == [
        "invoice.issued",
        "payment.received",
        "payment.received",
        "payment.refunded",
        "payment.charged_back",
        "payment.undone",
        "invoice.cancelled",
    ]
    subjects = list(DomainEvent.objects.values_list("subject_type", flat=True))
    assert subjects == [
        "invoice",
        "payment",
        "payment",
        "payment_reversal",
        "payment_reversal",
        "payment_reversal",
        "invoice",
    ]
