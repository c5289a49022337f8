"""A record parked behind another (an invoice behind its customer, a payment behind its invoice) must wake
when that one settles, whichever consumer settles it and however their transactions interleave: a lost
wake-up leaves the record waiting out its hour-long fallback while the ledger falls behind CashFlow."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync import transitions
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.sweeper import sweep

from .conftest import in_threads, issue, needs_real_concurrency


def _invoice_and_customer(organisation, customer, gst) -> tuple[SyncRecord, SyncRecord]:
    issue(organisation, customer, gst)
    return (
        SyncRecord.objects.get(kind=ObjectKind.INVOICE),
        SyncRecord.objects.get(kind=ObjectKind.CUSTOMER),
    )


def _parked(record: SyncRecord) -> bool:
    record.refresh_from_db()
    return record.waiting_on_id is not None and record.next_attempt_at > timezone.now() + dt.timedelta(
        minutes=30
    )


def test_a_record_behind_an_open_one_waits(connection, organisation, customer, gst):
    invoice, customer_record = _invoice_and_customer(organisation, customer, gst)
    transitions.defer(invoice, customer_record, "Waiting for its customer.")
    assert _parked(invoice) and invoice.state == SyncState.PENDING


def test_a_record_behind_one_already_settled_goes_at_once(connection, organisation, customer, gst):
    invoice, customer_record = _invoice_and_customer(organisation, customer, gst)
    SyncRecord.objects.filter(pk=customer_record.pk).update(state=SyncState.SYNCED)
    transitions.defer(invoice, customer_record, "Waiting for its customer.")
    assert not _parked(invoice)


def test_a_dependency_skipped_does_not_release_a_record_that_needs_it_in_the_ledger(
    connection, organisation, customer, gst
):
    invoice, customer_record = _invoice_and_customer(organisation, customer, gst)
    SyncRecord.objects.filter(pk=customer_record.pk).update(state=SyncState.SKIPPED)
    transitions.defer_all([(invoice, customer_record, "Waiting.")], released_by=(SyncState.SYNCED,))
    assert _parked(invoice)


@pytest.mark.django_db(transaction=True)
def test_a_blocker_settling_on_another_consumer_while_we_park_still_wakes_us(
    connection, organisation, customer, gst
):
    """The interleaving that lost a wake-up in the chaos campaign: the other consumer's transaction marks
    the blocker synced and runs its wake-up UPDATE before our deferral commits, and commits after we look."""
    needs_real_concurrency()
    invoice, customer_record = _invoice_and_customer(organisation, customer, gst)
    SyncRecord.objects.filter(pk=invoice.pk).update(state=SyncState.IN_FLIGHT)  # leased by us
    woke_nobody, parked = threading.Event(), threading.Event()

    def settle(_: object) -> None:
        with transaction.atomic():
            SyncRecord.objects.filter(pk=customer_record.pk).update(state=SyncState.SYNCED)
            woken = SyncRecord.objects.filter(waiting_on=customer_record, state=SyncState.PENDING).update(
                waiting_on=None, next_attempt_at=timezone.now()
            )
            assert woken == 0  # our deferral is not committed yet: this wake-up finds nobody
            woke_nobody.set()
            parked.wait(timeout=5)  # commits only after we have parked and looked

    def park(_: object) -> None:
        woke_nobody.wait(timeout=5)
        try:
            transitions.defer(invoice, customer_record, "Waiting for its customer.")
        finally:
            parked.set()

    in_threads(lambda role: role(None), [settle, park])
    assert not _parked(invoice)


def test_the_sweeper_wakes_a_record_whose_wake_up_was_lost(
    connection, organisation, customer, gst, doorbells
):
    invoice, customer_record = _invoice_and_customer(organisation, customer, gst)
    transitions.defer(invoice, customer_record, "Waiting for its customer.")
    SyncRecord.objects.filter(pk=customer_record.pk).update(state=SyncState.SYNCED)  # its wake-up lost
    doorbells.clear()
    report = sweep()
    assert not _parked(invoice)
    assert report.waiters_woken == 1 and doorbells == [(connection.pk, None)]
    assert sweep().waiters_woken == 0
