"""What other apps read and call: invoice statuses, the recap's failures, retry, push progress, keys."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import LedgerRequest, ObjectKind, SyncItem
from ledgerlink.ledgers.errors import NeedsAttention
from ledgerlink.ledgers.models import ConnectionStatus
from ledgerlink.sync.history import InvalidSelection, Selection, cancel_push, start_push
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState
from ledgerlink.sync.policy import BACKOFF_CAP_S, backoff_delay, request_key
from ledgerlink.sync.requeue import retry_record
from ledgerlink.sync.status import configuration_failures, invoice_statuses

from .conftest import connect, issue, map_gst, map_payments, run


def test_invoice_statuses_say_what_the_user_sees(connection, ledger, organisation, customer, gst):
    synced = issue(organisation, customer, gst)
    failed = issue(organisation, customer, gst)
    ledger.rejects[str(failed.pk)] = NeedsAttention("Account must be valid.", status=400)
    run(connection, ledger)
    waiting = issue(organisation, customer, gst)
    statuses = invoice_statuses(connection, [synced.pk, failed.pk, waiting.pk, "no-such-invoice"])
    assert statuses[str(synced.pk)].label == "synced" and statuses[str(synced.pk)].remote_id
    assert (statuses[str(failed.pk)].label, statuses[str(failed.pk)].message) == (
        "error",
        "Account must be valid.",
    )
    assert statuses[str(waiting.pk)].label == "pending"
    assert statuses["no-such-invoice"].label == "not attempted"
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    connection.save()
    assert invoice_statuses(connection, [waiting.pk])[str(waiting.pk)].label == "disconnected"


def test_the_recap_lists_only_configuration_problems(organisation, customer, gst, ledger):
    connection = connect(organisation)  # nothing mapped
    issue(organisation, customer, gst)
    run(connection, ledger)
    failures = configuration_failures(organisation)
    assert [r.kind for r in failures] == [ObjectKind.INVOICE]


def test_retry_record_sends_one_record_again(connection, ledger, organisation, customer, gst):
    invoice = issue(organisation, customer, gst)
    ledger.rejects[str(invoice.pk)] = NeedsAttention("Lock date.", status=400)
    run(connection, ledger)
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    synced_customer = SyncRecord.objects.get(kind=ObjectKind.CUSTOMER)
    assert retry_record(synced_customer) is False  # nothing to retry
    del ledger.rejects[str(invoice.pk)]
    assert retry_record(record) is True
    run(connection, ledger)
    assert SyncRecord.objects.get(pk=record.pk).state == SyncState.SYNCED


def test_a_push_reports_progress_and_an_eta_and_can_be_cancelled(organisation, customer, gst, ledger):
    old = [
        issue(organisation, customer, gst, issue_date=timezone.localdate() - dt.timedelta(days=n))
        for n in range(4)
    ]
    services.record_payment(old[0], Decimal("5.00"), "card")
    connection = connect(organisation)
    map_gst(organisation, gst)
    map_payments(organisation)
    push = start_push(organisation.pk, Selection(ids=tuple(str(i.pk) for i in old[:2])))
    assert (push.total, push.done, push.eta()) == (2, 0, None)
    run(connection, ledger)
    push.refresh_from_db()
    assert (push.state, push.done) == (HistoricalPush.State.DONE, 2)
    rest = start_push(organisation.pk, Selection(date_to=timezone.localdate()))
    assert rest.total == 2  # the two already pushed are not queued again
    assert cancel_push(rest) == 2  # the two not pushed yet (their customer is linked already)
    assert SyncRecord.objects.filter(history_push=rest, state=SyncState.SKIPPED).count() == 2
    rest.refresh_from_db()
    assert rest.state == HistoricalPush.State.CANCELLED


def test_keys_are_deterministic_and_change_with_the_generation():
    item = SyncItem("7", ObjectKind.INVOICE, document=None)  # type: ignore[arg-type]
    request = LedgerRequest("PUT", "/Invoices", (item,))
    first = request_key(1, "create", request, {"7": 0})
    assert first == request_key(1, "create", request, {"7": 0})
    assert first != request_key(1, "create", request, {"7": 1})
    assert first != request_key(2, "create", request, {"7": 0})
    assert len(first) <= 36 and first.startswith("ll-")


def test_backoff_is_jittered_capped_and_respects_retry_after():
    assert all(1 <= backoff_delay(3) <= 16 for _ in range(50))
    assert all(backoff_delay(50) <= BACKOFF_CAP_S for _ in range(50))
    assert backoff_delay(0, retry_after_s=90) >= 90
    # On a sandbox's faster clock the backoff shrinks with it; a Retry-After is a real wait and does not.
    assert all(0.1 <= backoff_delay(3, time_scale=10) <= 1.6 for _ in range(50))
    assert backoff_delay(3, retry_after_s=5, time_scale=10) >= 5


def test_eta_extrapolates_the_pace_so_far():
    now = timezone.now()
    push = HistoricalPush(total=300, done=100, failed=20, started_at=now - dt.timedelta(seconds=60))
    assert push.eta(now) == dt.timedelta(seconds=60 / 120 * 180)


def test_a_bad_selection_is_refused_in_plain_words(connection, organisation):
    for selection, words in (
        (Selection(ids=("not-an-id",)), "not a CashFlow invoice id"),
        (Selection(date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 1, 1)), "ends before it starts"),
        (Selection(ids=(str(uuid.uuid4()),), date_from=dt.date(2026, 1, 1)), "not both"),
    ):
        with pytest.raises(InvalidSelection, match=words):
            start_push(organisation.pk, selection)
    assert not HistoricalPush.objects.exists()


def test_the_cli_says_what_is_wrong(connection, organisation):
    with pytest.raises(CommandError, match="not a CashFlow invoice id"):
        call_command("push-history", str(organisation.pk), "--ids", "INV-1")
    other = services.create_organisation("Unconnected", "AU")
    with pytest.raises(CommandError, match="Connect a ledger first"):
        call_command("push-history", str(other.pk))
