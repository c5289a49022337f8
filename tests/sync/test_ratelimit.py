"""The shared per-tenant budget: a sliding minute, the in-flight cap, the day, Retry-After and the ledger's
remaining-count headers; and correctness when many workers take from it at once."""

from __future__ import annotations

import datetime as dt
import importlib
import threading

import pytest
from django.utils import timezone

from ledgerlink.ledgers.contract import RateBudget, RateLimits
from ledgerlink.ledgers.xero.ledger import XeroLedger
from ledgerlink.sync import ratelimit
from ledgerlink.sync.models import TenantBudget
from ledgerlink.sync.ratelimit import acquire, release

from .conftest import in_threads, needs_real_concurrency

LIMITS = RateLimits(per_minute=10, in_flight=3, per_day=25)
T0 = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def take(n: int, when: dt.datetime, tenant: str = "t1") -> list[float]:
    """n calls that each finish at once (slot given back)."""
    waits = []
    for i in range(n):
        wait = acquire("xero", tenant, f"h{i}", LIMITS, now=when)
        if wait == 0:
            release("xero", tenant, f"h{i}", now=when)
        waits.append(wait)
    return waits


def test_xero_declares_its_published_limits():
    assert XeroLedger.limits == RateLimits(per_minute=60, in_flight=5, per_day=5000)
    assert XeroLedger.idempotency_window == dt.timedelta(minutes=6)


def test_no_sixty_second_window_holds_more_than_the_minute_limit(db):
    """A ledger that reports no remaining counts (QuickBooks) is paced by the engine's own count alone:
    no call is ever let past a full minute to learn its windows."""
    assert take(10, at(0)) == [0.0] * 10
    waits = take(1, at(30))
    assert waits[0] == pytest.approx(30.0)  # the first call of the window ages out at 60 s
    assert take(1, at(60.001)) == [0.0]


def test_a_request_costing_several_calls_waits_until_they_all_fit_in_the_minute(db):
    """A ledger that meters each item of a batch (QuickBooks' stricter reading) gives the request a cost."""
    assert acquire("xero", "t1", "a", LIMITS, now=at(0), cost=6) == 0
    release("xero", "t1", "a", now=at(0))
    assert take(3, at(10)) == [0, 0, 0]  # 9 of 10 spent
    assert acquire("xero", "t1", "b", LIMITS, now=at(20), cost=2) == pytest.approx(40)
    assert acquire("xero", "t1", "b", LIMITS, now=at(61), cost=2) == 0
    assert TenantBudget.objects.get(tenant_id="t1").day_count == 11


def test_the_in_flight_cap_holds_until_a_slot_is_given_back(db):
    for i in range(3):
        assert acquire("xero", "t1", f"busy{i}", LIMITS, now=at(0)) == 0
    assert 0 < acquire("xero", "t1", "fourth", LIMITS, now=at(0)) <= 0.2
    release("xero", "t1", "busy0", now=at(1))
    assert acquire("xero", "t1", "fourth", LIMITS, now=at(1)) == 0


def test_a_killed_workers_slot_lapses(db):
    for i in range(3):
        acquire("xero", "t1", f"dead{i}", LIMITS, now=at(0))
    later = at(LIMITS.slot_ttl_s + 1)
    assert acquire("xero", "t1", "alive", LIMITS, now=later) == 0


def test_retry_after_pauses_every_worker_of_the_tenant_only(db):
    release("xero", "t1", "h", RateBudget(retry_after_s=45), now=at(0))
    assert acquire("xero", "t1", "a", LIMITS, now=at(1)) == pytest.approx(44)
    assert acquire("xero", "t2", "b", LIMITS, now=at(1)) == 0  # tenants are isolated
    assert acquire("xero", "t1", "a", LIMITS, now=at(45)) == 0


def test_the_ledgers_remaining_count_slows_down_before_a_429(db):
    acquire("xero", "t1", "a", LIMITS, now=at(0))
    release("xero", "t1", "a", RateBudget(minute_remaining=1), now=at(0))
    assert acquire("xero", "t1", "b", LIMITS, now=at(1)) == 0  # one left: it may go
    release("xero", "t1", "b", RateBudget(minute_remaining=0), now=at(1))
    # One call may go to learn where the window ends (its answer is not in yet); the rest wait. The ledger
    # counted calls this database never saw (10 against 3 logged): only the newest call's minute is
    # certain to close the window that said 0.
    assert acquire("xero", "t1", "probe", LIMITS, now=at(2)) == 0
    newest_window_end = 2 + 60 + ratelimit.WINDOW_MARGIN_S
    assert acquire("xero", "t1", "c", LIMITS, now=at(2.5)) == pytest.approx(newest_window_end - 2.5)
    release("xero", "t1", "probe", now=at(3))
    assert acquire("xero", "t1", "c", LIMITS, now=at(3)) > 0  # a probe whose answer said nothing: no other
    assert acquire("xero", "t1", "c", LIMITS, now=at(newest_window_end)) == 0


def test_after_a_spent_minute_the_engine_resumes_when_the_bursts_first_call_is_a_minute_old(db):
    """A burst of the whole minute's budget over 9 s: the fixed window that answered 0 opened at or before
    its first call (xero.md §5), so it has closed a minute (plus the trip) after that call, not the last."""
    for second in range(9):
        assert acquire("xero", "t1", f"h{second}", LIMITS, now=at(second)) == 0
        release("xero", "t1", f"h{second}", RateBudget(minute_remaining=9 - second), now=at(second))
    assert acquire("xero", "t1", "h9", LIMITS, now=at(9)) == 0
    ratelimit.observe("xero", "t1", RateBudget(minute_remaining=0), epoch(9), epoch(9.1))  # still held
    window_end = 0 + 60 + ratelimit.WINDOW_MARGIN_S
    assert acquire("xero", "t1", "next", LIMITS, now=at(9.5)) == pytest.approx(window_end - 9.5)
    release("xero", "t1", "h9", now=at(9.6))
    # With nothing in flight one call may go to learn the phase; until its answer, the sliding minute holds
    # the rest (it counts the probe, so the burst's second call must age out).
    assert acquire("xero", "t1", "probe", LIMITS, now=at(10)) == 0
    assert acquire("xero", "t1", "next", LIMITS, now=at(10)) == pytest.approx(61 - 10)


def test_a_remaining_count_left_over_from_a_closed_window_is_forgotten(db):
    """Two left at second 0, then nothing for 61 s: that window has closed, so the count no longer binds."""
    for i in range(3):
        assert acquire("xero", "t1", f"busy{i}", LIMITS, now=at(0)) == 0
    release("xero", "t1", "busy0", RateBudget(minute_remaining=2), now=at(0))
    assert acquire("xero", "t1", "late", LIMITS, now=at(0.1)) > 0  # two in flight may use the last two
    release("xero", "t1", "busy1", now=at(0.2))
    release("xero", "t1", "busy2", now=at(0.2))
    assert acquire("xero", "t1", "late", LIMITS, now=at(61)) == 0


def test_the_day_budget_and_its_header(db):
    for minute in range(3):
        take(10, at(minute * 61))
    assert take(1, at(200))[0] > 3600  # 25 a day in this test's limits: wait for the day to roll
    release("xero", "t3", "x", RateBudget(day_remaining=0), now=at(0))
    assert acquire("xero", "t3", "y", LIMITS, now=at(1)) == ratelimit.DAY_EXHAUSTED_PAUSE_S


def test_the_time_scale_setting_shrinks_the_minute_and_the_day(db, settings):
    """Against a sandbox at --time-scale 2 (the benchmark) a Xero minute lasts 30 real seconds."""
    settings.LEDGERLINK_SYNC_TIME_SCALE = 2
    assert take(10, at(0)) == [0.0] * 10
    assert take(1, at(10))[0] == pytest.approx(20.0)
    assert take(1, at(30.001)) == [0.0]
    release("xero", "t3", "x", RateBudget(day_remaining=0), now=at(0))
    assert acquire("xero", "t3", "y", LIMITS, now=at(1)) == ratelimit.DAY_EXHAUSTED_PAUSE_S / 2


def test_a_time_scale_that_is_not_positive_is_refused(db, settings):
    settings.LEDGERLINK_SYNC_TIME_SCALE = 0
    with pytest.raises(ValueError, match="LEDGERLINK_SYNC_TIME_SCALE"):
        acquire("xero", "t1", "a", LIMITS, now=at(0))


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_exceed_the_budget():
    """Eight threads (each with its own database connection) race for one tenant's budget."""
    needs_real_concurrency()
    granted: list[str] = []
    lock = threading.Lock()
    now = timezone.now()

    def worker(n: int) -> None:
        for i in range(6):
            if acquire("xero", "race", f"w{n}-{i}", LIMITS, now=now) == 0:
                with lock:
                    granted.append(f"w{n}-{i}")

    in_threads(worker, list(range(8)))
    budget = TenantBudget.objects.get(tenant_id="race")
    assert len(granted) == LIMITS.in_flight  # nobody released: the in-flight cap binds first
    assert sorted(budget.in_flight) == sorted(granted)
    assert ratelimit.logged_calls(budget.minute_calls) == LIMITS.in_flight


@pytest.mark.django_db
def test_headroom_reads_the_shared_budget_without_taking_from_it():
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(0)) == ratelimit.Headroom(
        0, 10, 0, 25, 0, 3, 0.0, False, None, None, 10, False
    )  # never called: all of it
    take(4, at(0))
    assert acquire("xero", "t1", "busy", LIMITS, now=at(1)) == 0  # one still in flight
    release("xero", "t1", "", RateBudget(minute_remaining=2, retry_after_s=30), now=at(2))
    seen = ratelimit.headroom("xero", "t1", LIMITS, now=at(2))
    assert (seen.minute_used, seen.day_used, seen.in_flight, seen.minute_remaining) == (5, 5, 1, 2)
    assert seen.paused and seen.wait_s == 30
    assert seen.calls_left == 1  # the ledger's 2 remaining, less the call still in flight
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(2)) == seen  # reading took nothing
    later = ratelimit.headroom("xero", "t1", LIMITS, now=at(70))  # the minute and the pause are over
    assert (later.minute_used, later.day_used, later.wait_s, later.paused) == (0, 5, 0.0, False)
    assert later.calls_left == 10


@pytest.mark.django_db
def test_calls_left_by_a_moment_ahead_counts_the_calls_aging_out_of_the_minute_meanwhile():
    take(6, at(0))
    take(4, at(30))
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(58)).calls_left == 0
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(58), horizon_s=3).calls_left == 6


@pytest.mark.django_db
def test_calls_left_is_bounded_by_the_day_as_well_as_the_minute():
    take(10, at(0))
    take(10, at(61))
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(122)).calls_left == 5  # 25 a day, 20 taken


# --- Pacing by the ledger's own window: its phase learned from what it says -------------------------------


def answered(
    holder: str, sent: float, remaining: int, took: float = 0.05, tenant: str = "t1", **said: float
) -> None:
    """An admitted call's answer heard at the choke point, then its slot given back."""
    ratelimit.observe("xero", tenant, RateBudget(minute_remaining=remaining, **said), sent, sent + took)
    release("xero", tenant, holder, now=at(sent + took))


def epoch(seconds: float) -> float:
    return at(seconds).timestamp()


def burst(count: int, start: float, first_remaining: int) -> float:
    """`count` calls one after another from `start` (0.1 s apart), each answered; returns when it ended."""
    now = start
    for n in range(count):
        assert acquire("xero", "t1", f"b{start}-{n}", LIMITS, now=at(now)) == 0
        ratelimit.observe(
            "xero", "t1", RateBudget(minute_remaining=first_remaining - n), epoch(now), epoch(now)
        )
        release("xero", "t1", f"b{start}-{n}", now=at(now))
        now += 0.1
    return now


def test_a_refusal_naming_the_rest_of_the_window_teaches_its_end_and_the_engine_waits_only_until_then(db):
    """A burst spends the minute by second 1; the probe is refused with 'Retry-After: 24' (the window ends
    at 25): work resumes at 25, not a minute after the burst's first call, and each later window is filled
    by the engine's own count, with no refusal."""
    ended = burst(10, 0.0, 9)
    assert acquire("xero", "t1", "probe", LIMITS, now=at(ended)) == 0
    refused = RateBudget(minute_remaining=0, retry_after_s=24, window_left_s=24)
    ratelimit.observe("xero", "t1", refused, epoch(ended), epoch(ended + 0.05), refused=True)
    release("xero", "t1", "probe", now=at(ended + 0.05))
    window_end = ended + 0.05 + 24
    budget = TenantBudget.objects.get(tenant_id="t1")
    assert budget.window_end == pytest.approx(epoch(window_end))
    assert budget.window_end_error_s == pytest.approx(1.05)  # whole seconds, and the trip
    assert acquire("xero", "t1", "next", LIMITS, now=at(ended + 1)) == pytest.approx(window_end - ended - 1)
    ended = burst(10, window_end, 9)  # the next window takes the whole minute's budget
    assert acquire("xero", "t1", "next", LIMITS, now=at(ended)) == pytest.approx(window_end + 60 - ended)
    assert acquire("xero", "t1", "next", LIMITS, now=at(window_end + 60)) == 0


def test_a_count_that_did_not_go_down_shows_a_window_opened_between_two_calls(db):
    """Remaining 7 at second 5.0, then 9 for a call sent at 5.2: a window opened in between, so its end
    is known within 0.25 s and the engine fills it by count; no call is ever refused to learn it."""
    for n, (sent, remaining) in enumerate([(4.8, 8), (5.0, 7), (5.2, 9)]):
        assert acquire("xero", "t1", f"h{n}", LIMITS, now=at(sent)) == 0
        answered(f"h{n}", epoch(sent), remaining)
    budget = TenantBudget.objects.get(tenant_id="t1")
    assert budget.window_end == pytest.approx(epoch(5.25))
    assert budget.window_end_error_s == pytest.approx(0.25)
    # Calls taken from just before the window opened count against it, in case they landed in it: 7 more.
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(6)).calls_left == 7
    assert take(7, at(6)) == [0.0] * 7
    assert acquire("xero", "t1", "next", LIMITS, now=at(7)) == pytest.approx(65.25 - 7)
    spent = ratelimit.headroom("xero", "t1", LIMITS, now=at(7))
    assert (spent.calls_left, spent.wait_s) == (0, pytest.approx(65.25 - 7))
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(65.3)).calls_left == 10  # the next window's
    # Counted to a moment ahead, a window that ends by then leaves the whole of the next.
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(63), horizon_s=3).calls_left == 10


def test_a_refused_calls_count_is_no_sign_of_a_new_window(db):
    """A refusal is counted nowhere, so its 0 after an earlier 0 proves nothing."""
    acquire("xero", "t1", "a", LIMITS, now=at(0))
    answered("a", epoch(0), 0)
    ratelimit.observe("xero", "t1", RateBudget(minute_remaining=0), epoch(1), epoch(1.05), refused=True)
    assert TenantBudget.objects.get(tenant_id="t1").window_end is None


def test_a_wrong_phase_is_corrected_by_the_next_refusal(db):
    answered("x", epoch(0), 5, window_left_s=10)  # learned: a window ends at 10.05
    ratelimit.observe("xero", "t1", RateBudget(window_left_s=30), epoch(40), epoch(40.05), refused=True)
    budget = TenantBudget.objects.get(tenant_id="t1")
    assert budget.window_end == pytest.approx(epoch(70.05))  # 10.05 + 60 disagrees with [69, 70.05]
    assert budget.window_end_error_s == pytest.approx(1.05)


class FixedWindowLedger:
    """Windows of `per_minute` calls every 60 s from `offset`, as Xero meters a tenant (xero.md 5); a
    refusal's Retry-After is the rest of the window rounded up to whole seconds, as the sandbox says it."""

    def __init__(self, offset: float, per_minute: int) -> None:
        self.offset, self.per_minute = offset, per_minute
        self.used: dict[int, int] = {}
        self.refused = 0

    def call(self, t: float) -> RateBudget:
        window = int((t - self.offset) // 60)
        used = self.used.get(window, 0)
        if used >= self.per_minute:
            self.refused += 1
            left = self.offset + (window + 1) * 60 - t
            wait = float(-(-left // 1))
            return RateBudget(minute_remaining=0, retry_after_s=wait, window_left_s=wait)
        self.used[window] = used + 1
        return RateBudget(minute_remaining=self.per_minute - used - 1)


@pytest.mark.parametrize("offset", [3.0, 17.5, 42.0])
def test_a_backlog_finishes_one_window_after_another_with_one_refusal_at_most(db, offset):
    """45 calls at 10 a window, one at a time on an injected clock: the fewest windows the ledger allows
    (5), each opened within about a second of its start, and at most one refused call in all."""
    limits = RateLimits(per_minute=10, in_flight=3, per_day=5000)
    ledger = FixedWindowLedger(offset, limits.per_minute)
    now, done, trip = 0.0, 0, 0.05
    while done < 45:
        wait = acquire("xero", "t1", "h", limits, now=at(now))
        if wait > 0:
            now += wait
            continue
        said = ledger.call(now + trip / 2)
        refused = said.window_left_s is not None
        ratelimit.observe("xero", "t1", said, epoch(now), epoch(now + trip), refused=refused)
        release("xero", "t1", "h", now=at(now + trip))
        done += 0 if refused else 1
        now += trip
    assert ledger.refused <= 1
    # Windows open at offset + 60 k: the one open at 0 and three more take 40, the fifth the last 5.
    last_window_opens = offset + 3 * 60
    assert last_window_opens <= now <= last_window_opens + 1.5 + 5 * trip


def test_the_answers_reach_the_limiter_through_the_signal_http_sends(db):
    """ledgers.http sends `rate_budget_reported` with each answer; the sync app listens."""
    from ledgerlink.ledgers.signals import rate_budget_reported

    rate_budget_reported.send_robust(
        sender=None,
        provider="xero",
        tenant_id="t9",
        budget=RateBudget(minute_remaining=12, day_remaining=4000),
        status=200,
        sent_at=epoch(0),
        received_at=epoch(0.1),
    )
    budget = TenantBudget.objects.get(tenant_id="t9")
    assert (budget.minute_remaining, budget.day_remaining) == (12, 4000)
    assert budget.minute_reported_sent_at == epoch(0)


def test_a_permit_that_sent_nothing_gives_its_calls_back(db):
    """A look-up the ledger answered from what the process keeps took a permit but made no call: refunded,
    the window keeps its whole budget (the backfill's customer matches cost 4 calls of every 60)."""
    assert take(9, at(0)) == [0.0] * 9
    assert acquire("xero", "t1", "lookup", LIMITS, now=at(1)) == 0
    ratelimit.refund("xero", "t1", "lookup", LIMITS, now=at(1))
    budget = TenantBudget.objects.get(tenant_id="t1")
    assert (ratelimit.logged_calls(budget.minute_calls), budget.day_count, budget.in_flight) == (9, 9, {})
    assert acquire("xero", "t1", "send", LIMITS, now=at(2)) == 0  # the 10th call of the minute still fits


def test_the_call_log_migration_keeps_every_logged_call(db):
    """Migration 0005: a log of one timestamp per call becomes one entry of one call each, and back."""
    from django.apps import apps

    migration = importlib.import_module("ledgerlink.sync.migrations.0005_call_log_entries")
    TenantBudget.objects.create(provider="xero", tenant_id="old", minute_calls=[epoch(1), epoch(1), epoch(2)])
    migration.to_entries(apps, None)
    budget = TenantBudget.objects.get(tenant_id="old")
    assert budget.minute_calls == [[epoch(1), 1], [epoch(1), 1], [epoch(2), 1]]
    assert ratelimit.logged_calls(budget.minute_calls) == 3
    migration.to_timestamps(apps, None)
    assert TenantBudget.objects.get(tenant_id="old").minute_calls == [epoch(1), epoch(1), epoch(2)]


def test_a_batch_is_one_log_entry_counted_as_its_items(db):
    """QuickBooks meters a batch's items: one permit of 30 is one entry worth 30 calls, and the minute's
    count, the wait for the oldest calls to age out and a refund all read it as 30."""
    metered = RateLimits(per_minute=40, per_day=1000, in_flight=10)
    assert acquire("quickbooks", "r1", "a", metered, now=at(0), cost=30) == 0
    budget = TenantBudget.objects.get(tenant_id="r1")
    assert budget.minute_calls == [[epoch(0), 30]]
    assert acquire("quickbooks", "r1", "b", metered, now=at(1), cost=30) > 0  # 60 would pass the 40
    assert acquire("quickbooks", "r1", "b", metered, now=at(1), cost=10) == 0
    ratelimit.refund("quickbooks", "r1", "b", metered, cost=10, now=at(1))
    budget = TenantBudget.objects.get(tenant_id="r1")
    assert (ratelimit.logged_calls(budget.minute_calls), budget.day_count) == (30, 30)


def test_what_a_permitted_call_hears_is_recorded_by_its_release(db):
    """One transaction fewer per call: the answer's counts wait for the release that gives the slot back
    (the slot still counts the call meanwhile); an answer about another tenant, or one no release took, is
    recorded when the call ends."""

    def heard(tenant: str, remaining: int) -> None:
        said = RateBudget(minute_remaining=remaining)
        ratelimit.on_budget_reported(
            None, provider="xero", tenant_id=tenant, budget=said, sent_at=epoch(0), received_at=epoch(0.1)
        )

    assert acquire("xero", "t1", "a", LIMITS, now=at(0)) == 0
    with ratelimit.answers_kept_for_release():
        heard("t1", 3)
        heard("t2", 5)
        assert TenantBudget.objects.get(tenant_id="t1").minute_remaining is None
        release("xero", "t1", "a", now=at(0.1))
        assert TenantBudget.objects.get(tenant_id="t1").minute_remaining == 3
        assert not TenantBudget.objects.filter(tenant_id="t2").exists()
    assert TenantBudget.objects.get(tenant_id="t2").minute_remaining == 5
    heard("t1", 2)  # no call under way: recorded at once
    assert TenantBudget.objects.get(tenant_id="t1").minute_remaining == 2
