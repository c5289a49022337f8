"""The engine against an in-process ledger: outbox, ordering, packing, states, error kinds, exactly-once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind, RateLimits
from ledgerlink.ledgers.errors import NeedsAttention, Reconnect, Retry, UnknownOutcome
from ledgerlink.ledgers.models import Connection, ConnectionStatus, PaymentAccountMapping
from ledgerlink.sync import worker
from ledgerlink.sync.models import Attempt, RemoteLink, SyncRecord, SyncState, TenantBudget

from .conftest import connect, issue, map_gst, map_payments, run
from .fakes import FakeLedger, Stored


def states(connection) -> dict[str, str]:
    return {f"{r.kind}:{r.subject_id}": r.state for r in SyncRecord.objects.filter(connection=connection)}


def record(connection, kind: ObjectKind, subject) -> SyncRecord:
    return SyncRecord.objects.get(connection=connection, kind=kind, subject_id=str(subject.pk))


# --- outbox ----------------------------------------------------------------------------------------------


def test_issuing_queues_customer_and_invoice_in_the_same_transaction(connection, organisation, customer, gst):
    invoice = issue(organisation, customer, gst)
    kinds = sorted(SyncRecord.objects.filter(connection=connection).values_list("kind", "subject_id"))
    assert kinds == sorted([("customer", str(customer.pk)), ("invoice", str(invoice.pk))])
    assert set(states(connection).values()) == {SyncState.PENDING}


def test_a_rolled_back_issue_queues_nothing(connection, organisation, customer, gst):
    with pytest.raises(RuntimeError), transaction.atomic():
        issue(organisation, customer, gst)
        raise RuntimeError("the caller fails after issuing")
    assert not SyncRecord.objects.exists()


def test_nothing_is_queued_for_a_disconnected_ledger(organisation, customer, gst):
    connect(organisation, status=ConnectionStatus.DISCONNECTED)
    issue(organisation, customer, gst)
    assert not SyncRecord.objects.exists()


def test_events_while_reconnect_is_needed_wait_paused(organisation, customer, gst):
    connection = connect(organisation, status=ConnectionStatus.NEEDS_RECONNECT)
    issue(organisation, customer, gst)
    assert set(states(connection).values()) == {SyncState.PAUSED}


# --- the happy path --------------------------------------------------------------------------------------


def test_an_issued_invoice_reaches_the_ledger_once_with_its_customer(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst, "1234.56")
    report = run(connection, ledger)
    assert set(states(connection).values()) == {SyncState.SYNCED}
    assert ledger.numbers(ObjectKind.INVOICE) == [invoice.number]
    synced = record(connection, ObjectKind.INVOICE, invoice)
    assert synced.remote_id and synced.synced_at
    assert synced.ledger_total_minor == synced.cashflow_total_minor == 123456
    assert not synced.total_mismatch
    assert RemoteLink.objects.filter(connection=connection, subject_id=str(invoice.pk)).count() == 1
    # one customer match, one contact create, one invoice create
    assert report.calls == 3 and [s[0] for s in ledger.sent] == ["create", "create"]


def test_running_again_sends_nothing(connection, ledger, organisation, customer, gst):
    issue(organisation, customer, gst)
    run(connection, ledger)
    calls = len(ledger.sent)
    assert run(connection, ledger).calls == 0
    assert len(ledger.sent) == calls


def test_a_second_invoice_reuses_the_linked_customer(connection, ledger, organisation, customer, gst):
    issue(organisation, customer, gst)
    run(connection, ledger)
    issue(organisation, customer, gst)
    assert SyncRecord.objects.filter(kind=ObjectKind.CUSTOMER).count() == 1
    run(connection, ledger)
    assert len(ledger.live(ObjectKind.CUSTOMER)) == 1
    assert len(ledger.live(ObjectKind.INVOICE)) == 2


def test_a_customer_already_in_the_ledger_is_matched_not_created(
    connection, ledger, organisation, customer, gst
):
    ledger.objects["existing"] = Stored(
        ObjectKind.CUSTOMER, "x", None, "other", extra={"id": "existing", "email": customer.email}
    )
    issue(organisation, customer, gst)
    run(connection, ledger)
    assert RemoteLink.objects.get(subject_type="customer").remote_id == "existing"
    assert len(ledger.live(ObjectKind.CUSTOMER)) == 1


def test_invoices_are_packed_fifty_to_a_call(connection, ledger, organisation, customer, gst):
    for _ in range(120):
        issue(organisation, customer, gst)
    run(connection, ledger)
    assert [n for step, path, n, key in ledger.writes() if path == "/invoices"] == [50, 50, 20]
    assert len(ledger.live(ObjectKind.INVOICE)) == 120


def test_payment_waits_for_its_invoice_then_follows(connection, ledger, organisation, customer, gst):
    invoice = issue(organisation, customer, gst)
    ledger.fail_once(
        Retry("Xero is unavailable", status=502, maybe_written=True), when=lambda r: r.path == "/invoices"
    )
    payment = services.record_payment(invoice, Decimal("100.00"), "card")
    run(connection, ledger)
    waiting = record(connection, ObjectKind.PAYMENT, payment)
    assert waiting.state == SyncState.PENDING and waiting.waiting_on is not None
    SyncRecord.objects.update(next_attempt_at=timezone.now())  # the invoice's backoff has passed
    run(connection, ledger)
    assert record(connection, ObjectKind.PAYMENT, payment).state == SyncState.SYNCED
    assert len(ledger.live(ObjectKind.PAYMENT)) == 1


def test_a_payment_on_an_invoice_from_before_the_connection_carries_the_invoice(
    ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst)  # no connection yet: historical
    connection = connect(organisation)
    map_gst(organisation, gst)
    map_payments(organisation)
    services.record_payment(invoice, Decimal("50.00"), "cash")
    for _ in range(3):
        run(connection, ledger)
        SyncRecord.objects.filter(state=SyncState.PENDING).update(next_attempt_at=timezone.now())
    assert set(states(connection).values()) == {SyncState.SYNCED}
    assert ledger.numbers(ObjectKind.INVOICE) == [invoice.number]


# --- pre-flight and configuration ------------------------------------------------------------------------


def test_an_unmapped_tax_rate_stops_before_any_call_and_a_mapping_change_requeues(
    organisation, customer, gst, ledger, doorbells
):
    connection = connect(organisation)
    invoice = issue(organisation, customer, gst)
    run(connection, ledger)
    stuck = record(connection, ObjectKind.INVOICE, invoice)
    assert stuck.state == SyncState.NEEDS_ATTENTION and stuck.error_is_configuration
    assert "GST 10%" in stuck.last_error
    assert [s for s in ledger.sent if s[1] == "/invoices"] == []
    run(connection, ledger)  # no loop: nothing due, nothing sent
    assert [s for s in ledger.sent if s[1] == "/invoices"] == []

    map_gst(organisation, gst)  # the user maps it: post_save re-queues
    assert record(connection, ObjectKind.INVOICE, invoice).state == SyncState.PENDING
    run(connection, ledger)
    assert record(connection, ObjectKind.INVOICE, invoice).state == SyncState.SYNCED


def test_a_data_error_holds_only_its_own_invoice(connection, ledger, organisation, customer, gst):
    good = issue(organisation, customer, gst)
    bad = issue(organisation, customer, gst)
    ledger.rejects[str(bad.pk)] = NeedsAttention(
        "The document date cannot be before the lock date.", status=400
    )
    run(connection, ledger)
    assert record(connection, ObjectKind.INVOICE, good).state == SyncState.SYNCED
    held = record(connection, ObjectKind.INVOICE, bad)
    assert held.state == SyncState.NEEDS_ATTENTION and not held.error_is_configuration
    assert held.last_error == "The document date cannot be before the lock date."


def test_retry_of_a_fixed_record_sends_it_with_a_new_key(connection, ledger, organisation, customer, gst):
    from ledgerlink.sync.requeue import retry_failed

    bad = issue(organisation, customer, gst)
    ledger.rejects[str(bad.pk)] = NeedsAttention("Lock date.", status=400)
    run(connection, ledger)
    first_key = record(connection, ObjectKind.INVOICE, bad).idempotency_key
    del ledger.rejects[str(bad.pk)]
    assert retry_failed(organisation) == 1
    run(connection, ledger)
    fixed = record(connection, ObjectKind.INVOICE, bad)
    assert fixed.state == SyncState.SYNCED and fixed.idempotency_key != first_key


# --- transient failures, reconnect -----------------------------------------------------------------------


def test_a_429_pauses_the_tenant_and_honours_retry_after(connection, ledger, organisation, customer, gst):
    invoice = issue(organisation, customer, gst)
    ledger.fail_once(
        Retry("minute limit", after_s=40, status=429, scope="tenant"), when=lambda r: r.path == "/invoices"
    )
    before = timezone.now()
    report = run(connection, ledger)
    waiting = record(connection, ObjectKind.INVOICE, invoice)
    assert waiting.state == SyncState.RETRYING
    assert waiting.next_attempt_at >= before + dt.timedelta(seconds=40)
    assert report.resume_in_s == 40
    budget = TenantBudget.objects.get(tenant_id=connection.tenant_id)
    assert budget.paused_until >= before + dt.timedelta(seconds=40)


def test_an_invoice_refused_while_building_leaves_the_rest_in_one_batch(
    connection, ledger, organisation, customer, gst
):
    invoices = [issue(organisation, customer, gst, f"{100 + n}.00") for n in range(4)]
    ledger.unbuildable[str(invoices[1].pk)] = NeedsAttention("Account 4900 is inactive.", configuration=True)
    run(connection, ledger)
    refused = record(connection, ObjectKind.INVOICE, invoices[1])
    assert (refused.state, refused.error_is_configuration) == (SyncState.NEEDS_ATTENTION, True)
    assert len(ledger.writes("create")) == 2  # the customer, then the three good invoices together
    assert ledger.numbers(ObjectKind.INVOICE) == sorted(invoices[n].number for n in (0, 2, 3))


def test_a_run_that_fails_unexpectedly_hands_its_records_back_and_rings_again(
    connection, ledger, organisation, customer, gst, doorbells, monkeypatch
):
    # Where no sweeper runs (or until its next minute), nothing else would come back for these records.
    invoice = issue(organisation, customer, gst)
    doorbells.clear()

    def lost_database(*args, **kwargs):
        raise RuntimeError("server closed the connection unexpectedly")

    monkeypatch.setattr(worker, "load_documents", lost_database)
    with pytest.raises(RuntimeError):
        run(connection, ledger)
    held = SyncRecord.objects.filter(connection=connection, state=SyncState.IN_FLIGHT)
    assert not held.exists()
    assert doorbells == [(connection.pk, worker.AFTER_CRASH_S)]
    assert record(connection, ObjectKind.INVOICE, invoice).next_attempt_at > timezone.now()


def test_reconnect_pauses_the_connection_and_a_reconnect_resumes(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst)
    ledger.fail_once(Reconnect("Xero refused access. Reconnect Xero.", status=403))
    run(connection, ledger)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert set(states(connection).values()) == {SyncState.PAUSED}
    assert run(connection, ledger).calls == 0  # nothing is tried while the grant is gone

    connection.status = ConnectionStatus.ACTIVE
    connection.save()
    run(connection, ledger)
    assert record(connection, ObjectKind.INVOICE, invoice).state == SyncState.SYNCED


# --- exactly once ----------------------------------------------------------------------------------------


def test_a_dropped_answer_is_replayed_with_the_same_key_and_never_duplicated(
    connection, ledger, organisation, customer, gst
):
    invoices = [issue(organisation, customer, gst) for _ in range(3)]
    ledger.fail_once("drop", when=lambda r: r.path == "/invoices")
    run(connection, ledger)
    doubtful = record(connection, ObjectKind.INVOICE, invoices[0])
    assert doubtful.state == SyncState.RETRYING and doubtful.unknown_outcome_since is not None
    key = doubtful.idempotency_key
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    run(connection, ledger)
    assert set(states(connection).values()) == {SyncState.SYNCED}
    invoice_sends = [s for s in ledger.sent if s[1] == "/invoices"]
    assert [s[3] for s in invoice_sends] == [key, key]
    assert len(ledger.live(ObjectKind.INVOICE)) == 3


def test_batches_are_packed_in_cashflows_order_whatever_order_they_were_gathered_in():
    """Found by the reliability campaign (`make chaos`): a payment batch held over from a full claim was
    topped up by an older payment woken meanwhile, and sent newest first. Its answer was lost; the replay,
    claimed oldest first, built the items in another order, hence under another key, and wrote both
    payments again (Xero refused them only because both invoices were paid by then). A request's key is
    made from its items in order, so every batch, first send or replay, is packed in (sequence, id) order."""

    def pair(pk: int, sequence: int, key: str = "") -> tuple[SimpleNamespace, str]:
        doubt = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC) if key else None  # any instant: in doubt
        return SimpleNamespace(
            pk=pk, sequence=sequence, idempotency_key=key, unknown_outcome_since=doubt
        ), str(pk)

    run_ = SimpleNamespace(session=SimpleNamespace(ledger=SimpleNamespace(max_batch=2)))
    held_over_then_woken = [pair(9, 30), pair(4, 12), pair(7, 20)]
    replays, fresh = worker._Run.pack(run_, held_over_then_woken)  # type: ignore[arg-type]
    assert (replays, [[item for _, item in chunk] for chunk in fresh]) == ([], [["4", "7"], ["9"]])
    in_doubt = [pair(9, 30, "ll-k"), pair(4, 12, "ll-k")]
    replays, fresh = worker._Run.pack(run_, in_doubt)  # type: ignore[arg-type]
    assert ([[item for _, item in chunk] for chunk in replays], fresh) == ([["4", "9"]], [])


def test_after_the_key_lifetime_an_unknown_outcome_is_looked_up_not_resent(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst)
    ledger.fail_once("drop", when=lambda r: r.path == "/invoices")
    run(connection, ledger)
    ledger.cache.clear()  # the ledger forgot the key
    SyncRecord.objects.update(
        next_attempt_at=timezone.now(), unknown_outcome_since=timezone.now() - FakeLedger.idempotency_window
    )
    run(connection, ledger)
    assert record(connection, ObjectKind.INVOICE, invoice).state == SyncState.SYNCED
    assert len([s for s in ledger.sent if s[1] == "/invoices"]) == 1
    assert "invoice" in ledger.lookups


def test_after_the_key_lifetime_a_write_that_never_landed_is_sent_again(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst)
    ledger.fail_once(UnknownOutcome("timed out"), when=lambda r: r.path == "/invoices")  # never committed
    run(connection, ledger)
    SyncRecord.objects.update(
        next_attempt_at=timezone.now(), unknown_outcome_since=timezone.now() - FakeLedger.idempotency_window
    )
    run(connection, ledger)
    synced = record(connection, ObjectKind.INVOICE, invoice)
    assert synced.state == SyncState.SYNCED and synced.generation == 1
    assert len(ledger.live(ObjectKind.INVOICE)) == 1


def test_a_number_already_in_the_ledger_with_the_same_total_is_linked(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst, "500.00")
    ledger.objects["typed-by-hand"] = Stored(ObjectKind.INVOICE, invoice.number, Decimal("500.00"), "manual")
    run(connection, ledger)
    linked = record(connection, ObjectKind.INVOICE, invoice)
    assert linked.state == SyncState.SYNCED and linked.remote_id == "typed-by-hand"
    assert len(ledger.live(ObjectKind.INVOICE)) == 1


def test_a_number_already_in_the_ledger_with_another_total_needs_attention(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst, "500.00")
    ledger.objects["other"] = Stored(ObjectKind.INVOICE, invoice.number, Decimal("999.00"), "manual")
    run(connection, ledger)
    held = record(connection, ObjectKind.INVOICE, invoice)
    assert held.state == SyncState.NEEDS_ATTENTION
    assert invoice.number in held.last_error and "999.00" in held.last_error and "500.00" in held.last_error


def test_a_ledger_total_off_by_a_cent_is_flagged(connection, ledger, organisation, customer, gst):
    invoice = issue(organisation, customer, gst, "100.00")
    ledger.skew[invoice.number] = Decimal("0.01")
    run(connection, ledger)
    flagged = record(connection, ObjectKind.INVOICE, invoice)
    assert flagged.state == SyncState.SYNCED and flagged.total_mismatch
    assert "100.01" in flagged.last_error and "100.00" in flagged.last_error


# --- multi-step operations -------------------------------------------------------------------------------


def test_a_partial_refund_deletes_and_reposts_resuming_after_a_crash_between_steps(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst, "1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    run(connection, ledger)
    refund = services.refund_payment(payment, Decimal("200.00"))
    ledger.fail_once(
        Retry("Xero is unavailable", status=503, after_s=1, scope="tenant"),
        when=lambda r: r.step == "repost_payment",
    )
    run(connection, ledger)
    reversal = record(connection, ObjectKind.PAYMENT_REVERSAL, refund)
    assert reversal.state == SyncState.RETRYING and "deleted_payment" in reversal.step_ids
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    TenantBudget.objects.update(paused_until=None)
    run(connection, ledger)
    assert record(connection, ObjectKind.PAYMENT_REVERSAL, refund).state == SyncState.SYNCED
    assert [s[0] for s in ledger.writes()].count("delete_payment") == 1
    assert [o.total for o in ledger.live(ObjectKind.PAYMENT)] == [Decimal("400.00")]


def test_a_cancellation_after_a_payment_is_a_credit_note_and_its_allocation(
    connection, ledger, organisation, customer, gst
):
    invoice = issue(organisation, customer, gst, "1000.00")
    services.record_payment(invoice, Decimal("300.00"), "card")
    credit_note = services.cancel_invoice(invoice)
    run(connection, ledger)
    cancelled = record(connection, ObjectKind.CANCELLATION, credit_note)
    assert cancelled.state == SyncState.SYNCED
    assert cancelled.ledger_total_minor == cancelled.cashflow_total_minor == 70000
    assert [s[0] for s in ledger.writes() if s[0] in ("credit_note", "allocate")] == [
        "credit_note",
        "allocate",
    ]


# --- audit ------------------------------------------------------------------------------------------------


def test_every_call_is_logged_with_allowlisted_fields(connection, ledger, organisation, customer, gst):
    invoice = issue(organisation, customer, gst)
    ledger.rejects[str(invoice.pk)] = NeedsAttention("Account must be valid.", code="validation", status=400)
    run(connection, ledger)
    attempts = list(Attempt.objects.filter(connection=connection).order_by("id"))
    assert [a.path for a in attempts] == ["contacts (match by email)", "/customers", "/invoices"]
    last = attempts[-1]
    assert last.outcome == "failed" and last.error_message == "Account must be valid."
    assert last.item_count == 1 and last.idempotency_key.startswith("ll-")
    assert list(last.records.values_list("subject_id", flat=True)) == [str(invoice.pk)]


def test_records_stay_with_their_organisation(ledger, gst):
    other = services.create_organisation("Other Solar Inc", "AU")
    connection = connect(other, tenant_id="tenant-other")
    mine = gst.organisation
    me = connect(mine, tenant_id="tenant-mine")
    cust = services.create_customer(mine, services.CustomerInput(name="Bo", email="bo@example.com"))
    map_gst(mine, gst)
    issue(mine, cust, gst)
    assert not SyncRecord.objects.filter(connection=connection).exists()
    assert SyncRecord.objects.filter(connection=me, organisation=mine).count() == 2
    assert not Connection.objects.filter(pk=connection.pk, sync_records__isnull=False).exists()


def test_records_in_doubt_stay_in_doubt_through_a_mapping_problem_and_are_never_written_twice(
    connection, ledger, organisation, customer, gst
):
    invoices = [issue(organisation, customer, gst) for _ in range(3)]
    run(connection, ledger)
    for invoice in invoices:
        services.record_payment(invoice, Decimal("10.00"), "card")
    ledger.fail_once("drop", when=lambda r: r.path == "/payments")
    run(connection, ledger)  # the payments landed, the answer did not
    PaymentAccountMapping.objects.all().delete()  # the user unmaps the bank account meanwhile
    SyncRecord.objects.update(next_attempt_at=timezone.now())
    run(connection, ledger)
    held = SyncRecord.objects.filter(kind=ObjectKind.PAYMENT)
    assert {r.state for r in held} == {SyncState.NEEDS_ATTENTION}
    assert all(r.unknown_outcome_since for r in held)  # still possibly in the ledger

    map_payments(organisation)  # mapping it again re-queues them
    run(connection, ledger)
    assert {r.state for r in SyncRecord.objects.filter(kind=ObjectKind.PAYMENT)} == {SyncState.SYNCED}
    assert len(ledger.live(ObjectKind.PAYMENT)) == 3
    payment_sends = [s for s in ledger.sent if s[1] == "/payments"]
    assert len({s[3] for s in payment_sends}) == 1  # the replay carried the first key


def test_a_worker_that_lost_its_lease_sends_nothing_and_gives_its_slot_back(
    connection, ledger, organisation, customer, gst
):
    issue(organisation, customer, gst)
    build = ledger.build

    def build_then_lose_the_lease(items, mapping):
        SyncRecord.objects.filter(pk__in=[i.record_id for i in items]).update(lease_owner="another-worker")
        return build(items, mapping)

    ledger.build = build_then_lose_the_lease
    run(connection, ledger)
    assert ledger.sent == []
    # The write-ahead mark shares the renewal's transaction: a lost lease marks nothing as maybe sent.
    invoice = SyncRecord.objects.get(connection=connection, kind=ObjectKind.INVOICE)
    assert (invoice.idempotency_key, invoice.attempts, invoice.unknown_outcome_since) == ("", 0, None)
    assert TenantBudget.objects.get(tenant_id=connection.tenant_id).in_flight == {}


def _statements_to_sync(connection, ledger, organisation, customer, gst, invoices: int) -> int:
    for _ in range(invoices):
        issue(organisation, customer, gst)
    with CaptureQueriesContext(db_connection) as statements:
        report = run(connection, ledger)
    assert report.synced >= invoices
    return len(statements)


def test_a_batchs_outcomes_cost_a_few_statements_not_several_per_invoice(
    connection, ledger, organisation, customer, gst
):
    """Documents load with their lines in one query per batch, and a request's outcomes are recorded in one
    transaction (records, links, wake-ups in bulk): 40 more invoices in the batch cost a handful
    of statements, not several each."""
    _statements_to_sync(connection, ledger, organisation, customer, gst, 1)  # the customer goes first
    few = _statements_to_sync(connection, ledger, organisation, customer, gst, 10)
    many = _statements_to_sync(connection, ledger, organisation, customer, gst, 50)
    assert many - few < 10, (few, many)
    assert len(ledger.live(ObjectKind.INVOICE)) == 61


def test_a_run_stopped_by_the_rate_limit_rings_its_successor_early_to_build_while_it_waits(
    connection, ledger, organisation, customer, gst
):
    """The next run claims, loads and builds during the last seconds of the wait, then sleeps the rest
    inline (under the inline limit, so it does not stop again) and sends as the budget opens."""
    issue(organisation, customer, gst)
    run(connection, ledger)  # the tenant's budget row exists now
    issue(organisation, customer, gst)
    TenantBudget.objects.filter(tenant_id=connection.tenant_id).update(
        paused_until=timezone.now() + dt.timedelta(seconds=30)
    )
    report = run(connection, ledger)
    assert report.stopped_for == "rate limit"
    assert report.resume_in_s is not None
    assert 30 - worker.PREPARE_LEAD_S - 1 < report.resume_in_s <= 30 - worker.PREPARE_LEAD_S
    assert worker.PREPARE_LEAD_S < worker.MAX_INLINE_WAIT_S


@pytest.mark.parametrize(
    ("items_metered", "per_minute", "used", "learned", "claimed", "writes"),
    [
        (False, 60, 55, True, 250, [50] * 5),
        (True, 300, 150, True, 150, [50] * 3),
        (True, 60, 58, True, 0, []),
        (False, 60, 55, False, 300, [50] * 5),
    ],
    ids=[
        "five calls left",
        "three batches' items left",
        "less than a batch's items left",
        "a sliding minute",
    ],
)
def test_a_run_claims_no_more_than_the_window_it_has_left_can_send(
    connection,
    ledger,
    organisation,
    customer,
    gst,
    monkeypatch,
    items_metered,
    per_minute,
    used,
    learned,
    claimed,
    writes,
):
    """`used` calls of the ledger's current window, whose phase is learned, are spent. A ledger metering
    requests has five calls left: five full batches are claimed. One metering each item of a batch has room
    for three batches of 50, or for none: the run then ends at the wait before it claims anything. What is
    not claimed is not loaded and built now and again after the wait. A minute whose phase is unknown is
    counted as a sliding one, whose calls free up as they age: the run claims as much as ever."""
    # A fixed day, ticking: the minute and window are placed relative to it, never to the real date.
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC), tick=True):
        limits = RateLimits(per_minute=per_minute, in_flight=5, per_day=5000, items_metered=items_metered)
        monkeypatch.setattr(ledger, "limits", limits)
        issue(organisation, customer, gst)
        run(connection, ledger)  # the customer is in the ledger, and the tenant's budget row exists
        for _ in range(300):
            issue(organisation, customer, gst)
        opened = timezone.now().timestamp() - 10
        TenantBudget.objects.filter(tenant_id=connection.tenant_id).update(
            minute_calls=[[opened, used]], window_end=opened + 60 if learned else None, window_end_error_s=0
        )
        loaded: list[str] = []
        load = worker.load_documents
        monkeypatch.setattr(
            worker, "load_documents", lambda kind, org, ids: loaded.extend(ids) or load(kind, org, ids)
        )
        sent_before = len(ledger.writes())
        report = run(connection, ledger)
        assert (report.claimed, len(loaded), report.stopped_for) == (claimed, claimed, "rate limit")
        assert [n for _, path, n, _ in ledger.writes()[sent_before:]] == writes
        untried = SyncRecord.objects.filter(connection=connection, state=SyncState.PENDING, attempts=0)
        assert untried.count() == 300 - sum(writes)
