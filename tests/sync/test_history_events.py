"""A historical push finds each chunk's events through their subjects: every kind of event CashFlow emits
about an invoice is found, nothing of another invoice or organisation is, and on SQLite no read walks an
organisation's whole history (which made queuing quadratic in the backlog)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import DomainEvent, EventKind, Invoice
from ledgerlink.sync.history import chunk_events
from ledgerlink.sync.models import SyncRecord
from ledgerlink.sync.outbox import event_chain, plan_event, queue_records

from .conftest import issue

DAY = dt.date(2026, 3, 2)


def eventful_invoices(organisation, customer, gst) -> list[Invoice]:
    """One invoice per way CashFlow can speak of it after issuing: paid, refunded, charged back, an offline
    payment undone, cancelled, and money reversed on an invoice already cancelled (its credit note)."""
    invoices = [issue(organisation, customer, gst, "1100.00", issue_date=DAY) for _ in range(6)]
    paid, refunded, charged, undone, cancelled, reversed_after = invoices
    services.record_payment(paid, Decimal("100.00"), "card", received_on=DAY)
    payment = services.record_payment(refunded, Decimal("300.00"), "card", received_on=DAY)
    services.refund_payment(payment, Decimal("50.00"), occurred_on=DAY)
    payment = services.record_payment(charged, Decimal("200.00"), "card", received_on=DAY)
    services.charge_back(payment, occurred_on=DAY)
    payment = services.record_payment(undone, Decimal("20.00"), "cash", received_on=DAY)
    services.undo_offline_payment(payment, occurred_on=DAY)
    services.cancel_invoice(cancelled, cancelled_on=DAY)
    payment = services.record_payment(reversed_after, Decimal("400.00"), "card", received_on=DAY)
    services.cancel_invoice(reversed_after, cancelled_on=DAY)
    services.refund_payment(payment, occurred_on=DAY)
    return invoices


@pytest.fixture
def invoices(organisation, customer, gst) -> list[Invoice]:
    return eventful_invoices(organisation, customer, gst)


def ids(invoices: list[Invoice]) -> list[str]:
    return [str(invoice.pk) for invoice in invoices]


def test_every_kind_of_event_of_the_chunk_is_found_in_order(organisation, invoices):
    chunk = ids(invoices[1:])  # the first invoice's events belong to another chunk
    expected = [event for event in DomainEvent.objects.order_by("id") if event_chain(event) in chunk]
    assert {event.kind for event in expected} == set(EventKind)  # the fixture speaks every kind
    assert chunk_events(organisation.pk, chunk) == expected


def test_events_of_other_invoices_and_organisations_are_left_out(organisation, customer, gst, invoices):
    other = services.create_organisation("Other Roofs", "AU")
    eventful_invoices(
        other,
        services.create_customer(other, services.CustomerInput(name="Bo", email="bo@example.com")),
        services.create_tax_rate(other, "GST 10%", Decimal("10")),
    )
    found = chunk_events(organisation.pk, ids(invoices[:1]))
    assert [event.kind for event in found] == [EventKind.INVOICE_ISSUED, EventKind.PAYMENT_RECEIVED]
    assert chunk_events(other.pk, ids(invoices)) == []  # another organisation's id finds nothing here


def read_steps(run) -> list[str]:
    """SQLite's plan for each table read `run()` makes."""
    with CaptureQueriesContext(db) as queries:
        run()
    steps = []
    with db.cursor() as cursor:
        for query in queries.captured_queries:
            if query["sql"].startswith(("SELECT", "UPDATE")):
                cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
                steps += [row[-1] for row in cursor.fetchall() if row[-1].startswith(("SEARCH", "SCAN"))]
    assert steps and all(" USING " in step for step in steps), steps  # no table scanned whole
    return steps


sqlite_only = pytest.mark.skipif(
    db.vendor != "sqlite", reason="SQLite's planner has no statistics to rescue a bad plan"
)


@sqlite_only
def test_no_read_of_a_chunks_events_walks_the_organisations_history(organisation, invoices):
    steps = read_steps(lambda: chunk_events(organisation.pk, ids(invoices)))
    # By the organisation alone, a chunk's read grows with every event and payment the organisation has.
    assert not [step for step in steps if "(organisation_id=?)" in step], steps


@sqlite_only
def test_queuing_does_not_walk_the_connections_records(connection, invoices):
    planned = [step for event in DomainEvent.objects.all() for step in plan_event(event)]
    steps = read_steps(lambda: queue_records(connection, planned))
    # By the connection alone, each event's queuing reads every record the connection ever had.
    assert not [step for step in steps if "(connection_id=?)" in step], steps
    assert SyncRecord.objects.filter(connection=connection).count() == len(objects(planned))


def objects(planned) -> set[tuple[str, str]]:
    """The distinct objects a plan asks records for: one record each, however often planned."""
    return {(p.kind, p.subject_id) for p in planned}


def test_queuing_counts_only_the_records_it_added(connection, invoices):
    planned = [step for event in DomainEvent.objects.order_by("id") for step in plan_event(event)]
    SyncRecord.objects.filter(connection=connection).delete()  # the live handler queued them already
    first, rest = planned[:3], planned[3:]
    assert queue_records(connection, first) == len(objects(first))
    # Queued again beside the others: the ones already there are neither added nor counted.
    assert queue_records(connection, planned) == len(objects(planned)) - len(objects(first))
    assert queue_records(connection, rest) == 0
