"""Per-tenant rate limits shared by every worker on every machine (docs/sync.md, "Rate limiting").

The state lives in one `TenantBudget` row per tenant, changed only inside a transaction that holds the row:
`SELECT ... FOR UPDATE` on PostgreSQL, and on SQLite the IMMEDIATE transaction the settings ask for, which
takes the database write lock at BEGIN. So the budget is correct across threads, processes and machines with
no extra service; Redis would add a second source of truth for no gain at 60 calls a minute.

Pacing follows what the ledger says (`observe`, fed by `ledgers.http` through `rate_budget_reported`):
remaining counts, Retry-After, and the phase of its fixed minute windows, learned from a refusal that names
the rest of the window or from a count that did not go down between two calls. Until the phase is known no
sliding minute holds more than the limit; once known, calls are counted per the ledger's own window and a
spent window is waited out only to its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import threading
from collections.abc import Iterator

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledgerlink.ledgers.contract import RateBudget, RateLimits
from ledgerlink.sync.models import TenantBudget
from ledgerlink.sync.rows import Rows

# Ledger time; the limiter divides each by the LEDGERLINK_SYNC_TIME_SCALE setting (`time_scale`).
MINUTE_S = 60.0
DAY = dt.timedelta(days=1)
# When a ledger reports its daily budget spent but gives no Retry-After, probe again after this long.
DAY_EXHAUSTED_PAUSE_S = 15 * 60.0
# A call reaches the ledger a little after it is taken from the budget: the allowance (real seconds).
WINDOW_MARGIN_S = 0.5
# A window boundary seen between two calls further apart than this share of a minute is too vague to pace by.
PHASE_WIDTH_SHARE = 0.05
# Retry-After is whole seconds: the window's true end may lie up to this much before the wait it names.
RETRY_AFTER_ROUNDING_S = 1.0
REPORTS_KEPT = 16

# Every permit and release reads and rewrites the tenant's row: by statements written once (sync/rows.py).
_budgets = Rows(TenantBudget, key=("provider", "tenant_id"))


# The own log of calls taken (`TenantBudget.minute_calls`): one [epoch seconds, calls] entry per permit or
# charge, oldest first. A batch whose items the ledger meters one by one (30 a request) is one entry, not 30:
# the log is read and written with every permit, and an entry per call made the limiter's JSON a fifth of
# such a ledger's backfill CPU.
CallLog = list[list[float]]


def logged_calls(log: CallLog) -> int:
    """Calls the log holds."""
    return sum(int(calls) for _, calls in log)


def _nth_oldest(log: CallLog, k: int) -> float:
    """When the k-th oldest logged call (1-based) was taken."""
    seen = 0
    for taken, calls in log:
        seen += int(calls)
        if seen >= k:
            return taken
    return log[-1][0]


def _nth_newest(log: CallLog, k: int) -> float:
    """When the k-th most recent logged call (1-based) was taken."""
    seen = 0
    for taken, calls in reversed(log):
        seen += int(calls)
        if seen >= k:
            return taken
    return log[0][0]


def _take_back(log: CallLog, taken: float, calls: int) -> int:
    """Remove up to `calls` calls logged when a permit was `taken`; returns how many were found."""
    left = calls
    for entry in log:
        if left and abs(entry[0] - taken) < 1e-3:
            back = min(int(entry[1]), left)
            entry[1] -= back
            left -= back
    log[:] = [entry for entry in log if entry[1] > 0]
    return calls - left


def time_scale() -> float:
    """Ledger seconds per real second: 1 against a real ledger; N against a sandbox run at `--time-scale N`
    (the benchmark), so the engine's minute and day shrink with the sandbox's and keep the ledger's ratios."""
    scale = float(getattr(settings, "LEDGERLINK_SYNC_TIME_SCALE", 1.0))
    if scale <= 0:
        raise ValueError(f"LEDGERLINK_SYNC_TIME_SCALE must be positive, not {scale}")
    return scale


def minute_s() -> float:
    """The ledger's minute in real seconds."""
    return MINUTE_S / time_scale()


def _day() -> dt.timedelta:
    return DAY / time_scale()


def day_exhausted_pause_s() -> float:
    """How long a tenant whose day budget is reported spent waits between probes, in real seconds."""
    return DAY_EXHAUSTED_PAUSE_S / time_scale()


def _locked_budget(provider: str, tenant_id: str) -> TenantBudget:
    """The tenant's row, locked for the rest of the current transaction (created on first use)."""
    budget = _budgets.get(provider, tenant_id, lock=True)
    if budget is not None:
        return budget
    try:
        with transaction.atomic():
            TenantBudget.objects.create(provider=provider, tenant_id=tenant_id)
    except IntegrityError:
        pass  # another worker created it first
    budget = _budgets.get(provider, tenant_id, lock=True)
    assert budget is not None  # created above, by this worker or another, and never deleted
    return budget


def acquire(
    provider: str,
    tenant_id: str,
    holder: str,
    limits: RateLimits,
    now: dt.datetime | None = None,
    cost: int = 1,
) -> float:
    """Take `cost` calls (one, or a batch's items where the ledger meters them) from the tenant's budget
    and one in-flight slot for `holder`.

    Returns 0.0 when both were taken (the caller must `release` after the call), else the seconds to wait
    before asking again; nothing is taken then."""
    now = now or timezone.now()
    now_s = now.timestamp()
    cost = max(1, min(cost, limits.per_minute))  # a request costing more than a minute could never start
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        wait = _wait_needed(budget, limits, now, cost)
        if wait > 0:
            _budgets.save(budget)  # persist the pruning done while looking
            return wait
        if _minute_wait(budget, limits, now_s, cost) > 0:
            budget.probe_at = now_s  # the one call let past a spent minute (`_may_probe`)
        budget.minute_calls.append([now_s, cost])
        budget.in_flight[holder] = now_s + limits.slot_ttl_s
        budget.day_count += cost
        if budget.minute_remaining is not None:
            budget.minute_remaining -= cost
        if budget.day_remaining is not None:
            budget.day_remaining -= cost
        _budgets.save(budget)
        return 0.0


def charge(provider: str, tenant_id: str, calls: int, now: dt.datetime | None = None) -> None:
    """Count `calls` the ledger metered without a permit of their own: the reads a ledger makes while
    building a request or matching customers (a payment batch's look-up of its invoices' customers, a match
    spread over many queries). Counted after the fact, so the next permit waits for them instead of meeting
    a refusal. What the ledger reports of its remaining budget already includes them, so only the own log
    and the day's count move."""
    if calls <= 0:
        return
    now_s = (now or timezone.now()).timestamp()
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        budget.minute_calls.append([now_s, calls])
        budget.day_count += calls
        _budgets.save(budget)


def _wait_needed(budget: TenantBudget, limits: RateLimits, now: dt.datetime, cost: int = 1) -> float:
    """Seconds until a call may start; prunes expired state on `budget` as a side effect."""
    now_s = now.timestamp()
    _prune(budget, limits, now, now_s)
    waits = [0.0]
    if budget.paused_until and budget.paused_until > now:
        waits.append((budget.paused_until - now).total_seconds())
    if budget.day_count >= limits.per_day:
        waits.append((budget.day_started_at + _day() - now).total_seconds())
    if budget.day_remaining is not None and budget.day_remaining <= 0:
        waits.append(day_exhausted_pause_s())
    if len(budget.in_flight) >= limits.in_flight:
        waits.append(min(min(budget.in_flight.values()) - now_s, 0.2))
    minute = _minute_wait(budget, limits, now_s, cost)
    if max(waits) <= 0 and minute > 0 and _may_probe(budget, now_s):
        return 0.0
    return max(*waits, minute, 0.0)


def _prune(budget: TenantBudget, limits: RateLimits, now: dt.datetime, now_s: float) -> None:
    if budget.minute_remaining is not None and _report_outlived(budget, limits, now_s):
        budget.minute_remaining = None  # the ledger's window that reported it has certainly rolled over
    # Kept a margin past the minute: a call this old may still bound the window a remaining-count came from.
    oldest_kept = now_s - minute_s() - WINDOW_MARGIN_S
    budget.minute_calls = [entry for entry in budget.minute_calls if entry[0] > oldest_kept]
    budget.in_flight = {h: exp for h, exp in budget.in_flight.items() if exp > now_s}
    if budget.probe_at is not None and budget.probe_at < now_s - minute_s():
        budget.probe_at = None  # its answer never came back: another may go
    if now - budget.day_started_at >= _day():
        budget.day_started_at, budget.day_count, budget.day_remaining = now, 0, None


def _report_outlived(budget: TenantBudget, limits: RateLimits, now_s: float) -> bool:
    if budget.window_end is None:
        return now_s >= _reported_window_end(budget, limits)
    # Sent before the current window opened: it counted an earlier window (the own log covers the edge).
    sent = budget.minute_reported_sent_at
    return sent is None or sent < window_bounds(budget, now_s)[0]


def _minute_wait(budget: TenantBudget, limits: RateLimits, now_s: float, cost: int) -> float:
    """Seconds until the ledger's minute budget has room for `cost` more calls."""
    if budget.window_end is not None:
        return _window_wait(budget, limits, now_s, cost)
    waits = [0.0]
    over = logged_calls(budget.minute_calls) + cost - limits.per_minute  # calls that must age out first
    if over > 0:
        waits.append(_nth_oldest(budget.minute_calls, over) + minute_s() - now_s)
    # Slow down before a 429: when the ledger says the calls already in flight may use up its minute budget,
    # wait until the window that said so has certainly ended.
    if budget.minute_remaining is not None and budget.minute_remaining < len(budget.in_flight) + cost:
        waits.append(_reported_window_end(budget, limits) - now_s)
    return max(waits)


def window_bounds(budget: TenantBudget, now_s: float) -> tuple[float, float]:
    """(start, end) of the ledger's minute window holding `now_s`, as learned: the end is never early."""
    assert budget.window_end is not None
    length = minute_s()
    end = budget.window_end + math.floor((now_s - budget.window_end) / length + 1) * length
    return end - length, end


def _window_wait(budget: TenantBudget, limits: RateLimits, now_s: float, cost: int) -> float:
    """The phase is known: count this window's calls (and any taken just before it opened that may have
    landed in it), trust a remaining-count certainly from this window, and wait for its end when full."""
    full = _window_calls(budget, now_s) + cost > limits.per_minute
    remaining = budget.minute_remaining
    if remaining is not None and remaining < len(budget.in_flight) + cost:
        full = True
    return window_bounds(budget, now_s)[1] - now_s if full else 0.0


def _window_calls(budget: TenantBudget, now_s: float) -> int:
    """Calls counted against the learned window holding `now_s`: those taken in it, and any taken just
    before it opened that may have landed in it."""
    start = window_bounds(budget, now_s)[0]
    edge = start - budget.window_end_error_s - WINDOW_MARGIN_S
    return sum(int(calls) for taken, calls in budget.minute_calls if taken >= edge)


def _calls_left(budget: TenantBudget, limits: RateLimits, now_s: float) -> int:
    """Calls the tenant's current minute and day may still take, by the own log and the ledger's counts."""
    if budget.window_end is not None:
        minute_used = _window_calls(budget, now_s)
    else:
        minute_used = logged_calls(budget.minute_calls)
    left = [limits.per_minute - minute_used, limits.per_day - budget.day_count]
    if budget.minute_remaining is not None:
        left.append(budget.minute_remaining - len(budget.in_flight))
    if budget.day_remaining is not None:
        left.append(budget.day_remaining)
    return max(min(left), 0)


def _may_probe(budget: TenantBudget, now_s: float) -> bool:
    """One call may go past a spent minute while the window's phase is unknown: the ledger's answer (a
    refusal naming the rest of the window, or a count that went back up) teaches the phase, at the price of
    at most one refused call, and the engine then waits out each window only to its end. Only for ledgers
    that report remaining counts, with nothing in flight (their reports are in) and no probe out already."""
    return (
        budget.window_end is None
        and budget.minute_remaining is not None
        and not budget.in_flight
        and budget.probe_at is None
    )


def _reported_window_end(budget: TenantBudget, limits: RateLimits) -> float:
    """Epoch seconds by which the ledger's minute window behind `minute_remaining` has certainly ended.

    A ledger's minute windows may be fixed, at a per-tenant offset the engine cannot know, but a window
    that has counted k calls of this app (k = the limit less what remains, the calls taken since the report
    included) began no later than the k-th most recent call, so it ends at most a minute after that call;
    `WINDOW_MARGIN_S` covers the call's trip to the ledger. Waiting for the burst's last call to age out
    instead would idle for the length of the burst on top of that. When the log holds fewer than k calls
    (calls this database never saw), only the newest call's minute is certain."""
    assert budget.minute_remaining is not None  # the caller asks only when the ledger reported one
    counted = limits.per_minute - budget.minute_remaining
    log: CallLog = budget.minute_calls
    if not log:
        return 0.0
    opened = _nth_newest(log, counted) if 1 <= counted <= logged_calls(log) else log[-1][0]
    return opened + minute_s() + WINDOW_MARGIN_S


@dataclasses.dataclass(frozen=True)
class Headroom:
    """What a tenant's shared budget has left now, as every worker's limiter sees it (read, never taken)."""

    minute_used: int
    per_minute: int
    day_used: int
    per_day: int
    in_flight: int
    max_in_flight: int
    wait_s: float  # before the next request may start: 0 when one may start now
    paused: bool  # the ledger asked for the wait (Retry-After, an exhausted remaining-count)
    minute_remaining: int | None  # as the ledger last reported them, when it reports them
    day_remaining: int | None
    calls_left: int  # before the minute or the day is spent (a wait may still come first: `wait_s`)
    window_known: bool  # the phase of the ledger's fixed minute windows is learned


def headroom(
    provider: str,
    tenant_id: str,
    limits: RateLimits,
    now: dt.datetime | None = None,
    cost: int = 1,
    horizon_s: float = 0.0,
) -> Headroom:
    """The tenant's budget without taking from it or locking it: the same pruning and wait as `acquire`
    for a request of `cost`, on a copy that is never saved (a page may read it as often as it likes).
    `calls_left` counts what may start by `horizon_s` from now: calls aging out of the minute meanwhile,
    or a whole next window when the learned one ends by then, are left too."""
    now = now or timezone.now()
    budget = _budgets.get(provider, tenant_id)
    if budget is None:  # never called: the whole budget is there
        budget = TenantBudget(provider=provider, tenant_id=tenant_id, day_started_at=now)
    wait = _wait_needed(budget, limits, now, max(1, min(cost, limits.per_minute)))
    paused = bool(budget.paused_until and budget.paused_until > now) or (
        budget.day_remaining is not None and budget.day_remaining <= 0
    )
    seen = Headroom(
        minute_used=logged_calls(budget.minute_calls),
        per_minute=limits.per_minute,
        day_used=budget.day_count,
        per_day=limits.per_day,
        in_flight=len(budget.in_flight),
        max_in_flight=limits.in_flight,
        wait_s=wait,
        paused=paused,
        minute_remaining=budget.minute_remaining,
        day_remaining=budget.day_remaining,
        calls_left=0,
        window_known=budget.window_end is not None,
    )
    later = now + dt.timedelta(seconds=horizon_s)
    if horizon_s > 0:
        _prune(budget, limits, later, later.timestamp())
    return dataclasses.replace(seen, calls_left=_calls_left(budget, limits, later.timestamp()))


# What one answer said of a tenant's budget: (provider, tenant, budget, sent_at, received_at, refused).
_Heard = tuple[str, str, RateBudget, float, float, bool]
_kept = threading.local()  # `.answers`: this thread's answers waiting for their release, or None


@contextlib.contextmanager
def answers_kept_for_release() -> Iterator[None]:
    """What the ledger says of the budget during a permitted call is recorded by the `release` that ends
    the call, in its transaction, instead of in one of its own: a locked read and write fewer per call.
    The slot is held until then, so other workers count the call meanwhile. Answers no release took (for
    another tenant, or a call that ended without one) are recorded on the way out."""
    outer = getattr(_kept, "answers", None)
    _kept.answers = []
    try:
        yield
    finally:
        left, _kept.answers = _kept.answers, outer
        for provider, tenant_id, reported, sent_at, received_at, refused in left:
            observe(provider, tenant_id, reported, sent_at, received_at, refused)


def _take_kept(provider: str, tenant_id: str) -> list[_Heard]:
    kept: list[_Heard] | None = getattr(_kept, "answers", None)
    if not kept:
        return []
    mine = [answer for answer in kept if answer[:2] == (provider, tenant_id)]
    kept[:] = [answer for answer in kept if answer[:2] != (provider, tenant_id)]
    return mine


def release(
    provider: str,
    tenant_id: str,
    holder: str,
    reported: RateBudget | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Give back `holder`'s in-flight slot and record what the ledger said about the remaining budget: the
    answers kept since the call began (`answers_kept_for_release`), then `reported`."""
    now = now or timezone.now()
    heard = _take_kept(provider, tenant_id)
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        for _, _, said, sent_at, received_at, refused in heard:
            _record_report(budget, said, sent_at, received_at, refused)
        budget.in_flight.pop(holder, None)
        if reported is not None:
            _record_report(budget, reported, now.timestamp(), now.timestamp(), refused=False)
        _budgets.save(budget)


def refund(
    provider: str,
    tenant_id: str,
    holder: str,
    limits: RateLimits,
    cost: int = 1,
    now: dt.datetime | None = None,
) -> None:
    """Give back `holder`'s slot and the calls its permit took, for a permit that sent nothing (a look-up the
    ledger answered from what this process keeps). Counting it would end each window that many calls early:
    a backfill's per-claim customer match, answered from the copy of the tenant's contacts, cost 4 of every
    60 calls."""
    now = now or timezone.now()
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        expires = budget.in_flight.pop(holder, None)
        if expires is not None:
            taken = expires - limits.slot_ttl_s
            back = _take_back(budget.minute_calls, taken, max(1, min(cost, limits.per_minute)))
            budget.day_count = max(budget.day_count - back, 0)
            # What the ledger reported before the permit was taken did not count it either.
            if (budget.minute_reported_sent_at or 0.0) < taken:
                if budget.minute_remaining is not None:
                    budget.minute_remaining += back
                if budget.day_remaining is not None:
                    budget.day_remaining += back
            if budget.probe_at is not None and abs(budget.probe_at - taken) < 1e-3:
                budget.probe_at = None
        _budgets.save(budget)


def observe(
    provider: str,
    tenant_id: str,
    reported: RateBudget,
    sent_at: float,
    received_at: float,
    refused: bool = False,
) -> None:
    """Record what one answer said of the tenant's budget: counts, a pause, and what it shows of the phase
    of the ledger's minute windows. `sent_at`/`received_at`: epoch seconds the call left and came back;
    `refused`: the ledger turned it away for the rate (a 429), so it counted nowhere."""
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        _record_report(budget, reported, sent_at, received_at, refused)
        _budgets.save(budget)


def _record_report(
    budget: TenantBudget, reported: RateBudget, sent_at: float, received_at: float, refused: bool
) -> None:
    _learn_phase(budget, reported, sent_at, received_at, refused)
    _apply_report(budget, reported, dt.datetime.fromtimestamp(received_at, tz=dt.UTC), sent_at)


def on_budget_reported(
    sender: object,
    provider: str = "",
    tenant_id: str = "",
    budget: RateBudget | None = None,
    sent_at: float = 0.0,
    received_at: float = 0.0,
    status: int = 200,
    **_: object,
) -> None:
    """`ledgers.signals.rate_budget_reported` receiver."""
    if not (provider and tenant_id and budget is not None):
        return
    kept: list[_Heard] | None = getattr(_kept, "answers", None)
    if kept is not None:
        kept.append((provider, tenant_id, budget, sent_at, received_at, status == 429))
    else:
        observe(provider, tenant_id, budget, sent_at, received_at, refused=status == 429)


def _learn_phase(
    budget: TenantBudget, reported: RateBudget, sent_at: float, received_at: float, refused: bool
) -> None:
    if reported.window_left_s is not None:
        # The refused call reached the ledger between leaving and coming back, while the window was open.
        wait = reported.window_left_s
        _narrow_phase(budget, sent_at + max(wait - RETRY_AFTER_ROUNDING_S, 0.0), received_at + wait)
    if reported.minute_remaining is None:
        return
    earlier = [r for r in budget.minute_reports if r[1] <= sent_at]
    if earlier and not refused:  # a refused call took nothing, so its count proves nothing about time
        before = max(earlier, key=lambda r: r[1])
        # In one window a later call leaves fewer; as many or more means a window opened in between.
        if (
            reported.minute_remaining >= before[2]
            and received_at - before[0] <= PHASE_WIDTH_SHARE * minute_s()
        ):
            _narrow_phase(budget, before[0], received_at)
    reports = [*budget.minute_reports, [sent_at, received_at, reported.minute_remaining]]
    budget.minute_reports = sorted(reports, key=lambda r: r[1])[-REPORTS_KEPT:]
    if budget.probe_at is not None and sent_at >= budget.probe_at:
        budget.probe_at = None  # the probe's answer is in


def _narrow_phase(budget: TenantBudget, earliest: float, latest: float) -> None:
    """A window ended somewhere in [earliest, latest]: keep what agrees with what was known, or start over
    from this when it disagrees (a wrong guess, a clock that moved)."""
    if budget.window_end is not None:
        length = minute_s()
        known = budget.window_end + round((latest - budget.window_end) / length) * length
        low, high = max(earliest, known - budget.window_end_error_s), min(latest, known)
        if low <= high:
            budget.window_end, budget.window_end_error_s = high, high - low
            return
    budget.window_end, budget.window_end_error_s = latest, max(latest - earliest, 0.0)


def _apply_report(
    budget: TenantBudget, reported: RateBudget, now: dt.datetime, sent_at: float | None = None
) -> None:
    if reported.minute_remaining is not None:
        budget.minute_remaining = reported.minute_remaining
        budget.minute_reported_sent_at = now.timestamp() if sent_at is None else sent_at
    if reported.day_remaining is not None:
        budget.day_remaining = reported.day_remaining
    if reported.retry_after_s:
        pause_to = now + dt.timedelta(seconds=reported.retry_after_s)
        if budget.paused_until is None or pause_to > budget.paused_until:
            budget.paused_until = pause_to


def pause(provider: str, tenant_id: str, seconds: float, now: dt.datetime | None = None) -> None:
    """Stop every worker calling this tenant for `seconds` (a 429's Retry-After, an organisation offline)."""
    release(provider, tenant_id, holder="", reported=RateBudget(retry_after_s=seconds), now=now)
