"""The shared per-tenant budget: a sliding minute, the in-flight cap, the day, Retry-After and the ledger's
remaining-count headers; and correctness when many workers take from it at once."""

from __future__ import annotations

import datetime as dt
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
    # The ledger counted calls this database never saw (10 against 2 logged): only the newest call's
    # minute is certain to close the window that said 0.
    newest_window_end = 1 + 60 + ratelimit.WINDOW_MARGIN_S
    assert acquire("xero", "t1", "c", LIMITS, now=at(2)) == pytest.approx(newest_window_end - 2)
    assert acquire("xero", "t1", "c", LIMITS, now=at(newest_window_end)) == 0


def test_after_a_spent_minute_the_engine_resumes_when_the_bursts_first_call_is_a_minute_old(db):
    """A burst of the whole minute's budget over 9 s: the fixed window that answered 0 opened at or before
    its first call (xero.md §5), so it has closed a minute (plus the trip) after that call, not the last."""
    for second in range(10):
        assert acquire("xero", "t1", f"h{second}", LIMITS, now=at(second)) == 0
        release("xero", "t1", f"h{second}", RateBudget(minute_remaining=9 - second), now=at(second))
    window_end = 0 + 60 + ratelimit.WINDOW_MARGIN_S
    assert acquire("xero", "t1", "next", LIMITS, now=at(10)) == pytest.approx(window_end - 10)
    assert acquire("xero", "t1", "next", LIMITS, now=at(window_end)) == 0


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
    assert len(budget.minute_calls) == LIMITS.in_flight


@pytest.mark.django_db
def test_headroom_reads_the_shared_budget_without_taking_from_it():
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(0)) == ratelimit.Headroom(
        0, 10, 0, 25, 0, 3, 0.0, False, None, None
    )  # never called: all of it
    take(4, at(0))
    assert acquire("xero", "t1", "busy", LIMITS, now=at(1)) == 0  # one still in flight
    release("xero", "t1", "", RateBudget(minute_remaining=2, retry_after_s=30), now=at(2))
    seen = ratelimit.headroom("xero", "t1", LIMITS, now=at(2))
    assert (seen.minute_used, seen.day_used, seen.in_flight, seen.minute_remaining) == (5, 5, 1, 2)
    assert seen.paused and seen.wait_s == 30
    assert ratelimit.headroom("xero", "t1", LIMITS, now=at(2)) == seen  # reading took nothing
    later = ratelimit.headroom("xero", "t1", LIMITS, now=at(70))  # the minute and the pause are over
    assert (later.minute_used, later.day_used, later.wait_s, later.paused) == (0, 5, 0.0, False)
