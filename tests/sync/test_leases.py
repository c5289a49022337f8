"""Leases: a record is held by one worker at a time; a dead worker's claim lapses; sweeper and schedules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledgerlink.cashflow import events
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync import leases, outbox
from ledgerlink.sync.models import DUE_STATES, Attempt, SyncRecord, SyncState
from ledgerlink.sync.sweeper import purge_old_attempts, sweep

from .conftest import in_threads, issue, needs_real_concurrency, run


def test_two_claims_never_share_a_record(connection, organisation, customer, gst):
    for _ in range(5):
        issue(organisation, customer, gst)
    first = leases.claim(connection.pk, "worker-a", 4)
    second = leases.claim(connection.pk, "worker-b", 100)
    assert len(first) == 4 and len(second) == 2
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert leases.claim(connection.pk, "worker-c", 100) == []


def test_a_claim_that_finds_nothing_writes_nothing(connection, organisation, customer, gst):
    """A run ends on a claim that finds nothing; on SQLite a transaction would take the one write lock
    (IMMEDIATE) just to learn that, queueing every other worker behind it."""
    issue(organisation, customer, gst)
    leases.claim(connection.pk, "worker-a", 100)
    with CaptureQueriesContext(db) as statements:
        assert leases.claim(connection.pk, "worker-b", 100) == []
    sql = [s["sql"] for s in statements.captured_queries]
    assert all(s.lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE")) for s in sql), sql
    if not db.features.has_select_for_update_skip_locked:  # reads alone, outside any transaction
        assert len(sql) == len(DUE_STATES) and all(s.startswith("SELECT") for s in sql), sql


def test_a_lapsed_lease_passes_to_another_worker(connection, organisation, customer, gst, settings):
    issue(organisation, customer, gst)
    held = leases.claim(connection.pk, "dead-worker", 100)
    later = timezone.now() + dt.timedelta(seconds=settings.LEDGERLINK_SYNC_LEASE_S + 1)
    assert leases.renew([r.pk for r in held], "dead-worker", now=later) is False
    taken = leases.claim(connection.pk, "live-worker", 100, now=later)
    assert {r.pk for r in taken} == {r.pk for r in held}
    assert leases.renew([r.pk for r in held], "dead-worker", now=later) is False  # the old owner may not send


def test_a_renewal_with_one_lease_lost_changes_none_of_its_records(connection, organisation, customer, gst):
    """The write-ahead mark rides with the renewal (`renew(..., **changes)`): when another worker took one
    record of the request, none of them is marked as maybe sent, nor has its lease extended."""
    for _ in range(2):
        issue(organisation, customer, gst)
    held = leases.claim(connection.pk, "worker-a", 100)
    assert len(held) == 3
    SyncRecord.objects.filter(pk=held[1].pk).update(lease_owner="worker-b")
    # A second after the claim, read from the lease it gave (not the clock).
    later = held[0].lease_expires_at - leases.lease_length() + dt.timedelta(seconds=1)
    assert leases.renew([r.pk for r in held], "worker-a", now=later, idempotency_key="k1") is False
    for record in held:
        stored = SyncRecord.objects.get(pk=record.pk)
        assert (stored.idempotency_key, stored.lease_expires_at) == ("", record.lease_expires_at)
    kept = [held[0].pk, held[2].pk]
    assert leases.renew(kept, "worker-a", now=later, idempotency_key="k1") is True
    assert set(SyncRecord.objects.filter(pk__in=kept).values_list("idempotency_key", flat=True)) == {"k1"}


def test_a_claim_takes_the_oldest_due_across_states(connection, organisation, customer, gst, settings):
    """Oldest by (sequence, id) whichever due state a record is in (each state is read apart, along its own
    index), skipping what is parked for later or held by a live lease."""
    for _ in range(4):
        issue(organisation, customer, gst)
    records = list(SyncRecord.objects.filter(connection=connection).order_by("sequence", "id"))
    assert len(records) == 5  # the customer, then its four invoices
    now = timezone.now()
    lapsed = now - dt.timedelta(seconds=1)
    SyncRecord.objects.filter(pk=records[0].pk).update(next_attempt_at=now + dt.timedelta(hours=1))
    SyncRecord.objects.filter(pk=records[1].pk).update(state=SyncState.RETRYING)
    SyncRecord.objects.filter(pk=records[2].pk).update(
        state=SyncState.IN_FLIGHT, lease_owner="live", lease_expires_at=now + dt.timedelta(minutes=1)
    )
    SyncRecord.objects.filter(pk=records[3].pk).update(
        state=SyncState.IN_FLIGHT, lease_owner="dead", lease_expires_at=lapsed
    )
    taken = leases.claim(connection.pk, "worker", 3, now=now)
    assert [r.pk for r in taken] == [records[1].pk, records[3].pk, records[4].pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_split_the_records(connection, organisation, customer, gst):
    needs_real_concurrency()
    for _ in range(20):
        issue(organisation, customer, gst)
    claimed: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        got = []
        while batch := leases.claim(connection.pk, name, 3):
            got += [r.pk for r in batch]
        claimed[name] = got

    in_threads(claimer, [f"w{n}" for n in range(4)])
    assert len(claimed) == 4
    everything = [pk for got in claimed.values() for pk in got]
    assert len(everything) == len(set(everything)) == SyncRecord.objects.count()


def test_the_sweeper_frees_lapsed_leases_and_rings_due_connections(
    connection, organisation, customer, gst, doorbells
):
    issue(organisation, customer, gst)
    leases.claim(connection.pk, "dead-worker", 100)
    SyncRecord.objects.update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    doorbells.clear()
    report = sweep()
    assert report.leases_expired == 2 and report.connections_rung == 1
    assert doorbells == [(connection.pk, None)]
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.PENDING}


def test_the_sweeper_plans_an_event_whose_records_were_missed(
    connection, organisation, customer, gst, ledger
):
    events.unregister_handler(outbox.on_domain_event)
    try:
        invoice = issue(organisation, customer, gst)
    finally:
        events.register_handler(outbox.on_domain_event)
    assert not SyncRecord.objects.exists()
    assert sweep().events_planned == 2
    assert sweep().events_planned == 0  # idempotent
    run(connection, ledger)
    assert (
        SyncRecord.objects.get(kind=ObjectKind.INVOICE, subject_id=str(invoice.pk)).state == SyncState.SYNCED
    )


def test_the_audit_log_keeps_a_quarter(connection, ledger, organisation, customer, gst):
    issue(organisation, customer, gst)
    run(connection, ledger)
    kept = Attempt.objects.count()
    Attempt.objects.filter(pk=Attempt.objects.order_by("id").first().pk).update(
        started_at=timezone.now() - dt.timedelta(days=91)
    )
    assert purge_old_attempts() == 1
    assert Attempt.objects.count() == kept - 1
    assert purge_old_attempts() == 0
