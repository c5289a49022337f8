"""Per-tenant rate limits shared by every worker on every machine (docs/sync.md, "Rate limiting").

The state lives in one `TenantBudget` row per tenant, changed only inside a transaction that holds the row:
`SELECT ... FOR UPDATE` on PostgreSQL, and on SQLite the IMMEDIATE transaction the settings ask for, which
takes the database write lock at BEGIN. So the budget is correct across threads, processes and machines with
no extra service; Redis would add a second source of truth for no gain at 60 calls a minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledgerlink.ledgers.contract import RateBudget, RateLimits
from ledgerlink.sync.models import TenantBudget

# Ledger time; the limiter divides each by the LEDGERLINK_SYNC_TIME_SCALE setting (`time_scale`).
MINUTE_S = 60.0
DAY = dt.timedelta(days=1)
# When a ledger reports its daily budget spent but gives no Retry-After, probe again after this long.
DAY_EXHAUSTED_PAUSE_S = 15 * 60.0
# A call reaches the ledger a little after it is taken from the budget: the allowance (real seconds).
WINDOW_MARGIN_S = 0.5


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
    query = TenantBudget.objects.filter(provider=provider, tenant_id=tenant_id)
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    budget = query.first()
    if budget is not None:
        return budget
    try:
        with transaction.atomic():
            TenantBudget.objects.create(provider=provider, tenant_id=tenant_id)
    except IntegrityError:
        pass  # another worker created it first
    return query.get()


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
            budget.save()  # persist the pruning done while looking
            return wait
        budget.minute_calls.extend([now_s] * cost)
        budget.in_flight[holder] = now_s + limits.slot_ttl_s
        budget.day_count += cost
        if budget.minute_remaining is not None:
            budget.minute_remaining -= cost
        if budget.day_remaining is not None:
            budget.day_remaining -= cost
        budget.save()
        return 0.0


def _wait_needed(budget: TenantBudget, limits: RateLimits, now: dt.datetime, cost: int = 1) -> float:
    """Seconds until a call may start; prunes expired state on `budget` as a side effect."""
    now_s = now.timestamp()
    if budget.minute_remaining is not None and now_s >= _reported_window_end(budget, limits):
        budget.minute_remaining = None  # the ledger's window that reported it has certainly rolled over
    # Kept a margin past the minute: a call this old may still bound the window a remaining-count came from.
    budget.minute_calls = [t for t in budget.minute_calls if t > now_s - minute_s() - WINDOW_MARGIN_S]
    budget.in_flight = {h: exp for h, exp in budget.in_flight.items() if exp > now_s}
    if now - budget.day_started_at >= _day():
        budget.day_started_at, budget.day_count, budget.day_remaining = now, 0, None

    waits = [0.0]
    if budget.paused_until and budget.paused_until > now:
        waits.append((budget.paused_until - now).total_seconds())
    if budget.day_count >= limits.per_day:
        waits.append((budget.day_started_at + _day() - now).total_seconds())
    if budget.day_remaining is not None and budget.day_remaining <= 0:
        waits.append(day_exhausted_pause_s())
    over = len(budget.minute_calls) + cost - limits.per_minute  # calls that must age out first
    if over > 0:
        waits.append(budget.minute_calls[over - 1] + minute_s() - now_s)
    # Slow down before a 429: when the ledger says the calls already in flight may use up its minute budget,
    # wait until the window that said so has certainly ended.
    if budget.minute_remaining is not None and budget.minute_remaining <= len(budget.in_flight):
        waits.append(_reported_window_end(budget, limits) - now_s)
    if len(budget.in_flight) >= limits.in_flight:
        waits.append(min(min(budget.in_flight.values()) - now_s, 0.2))
    return max(max(waits), 0.0) if max(waits) > 0 else 0.0


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
    calls: list[float] = budget.minute_calls
    if not calls:
        return 0.0
    opened = calls[-counted] if 1 <= counted <= len(calls) else calls[-1]
    return opened + minute_s() + WINDOW_MARGIN_S


@dataclass(frozen=True)
class Headroom:
    """What a tenant's shared budget has left now, as every worker's limiter sees it (read, never taken)."""

    minute_used: int
    per_minute: int
    day_used: int
    per_day: int
    in_flight: int
    max_in_flight: int
    wait_s: float  # before the next call may start: 0 when one may start now
    paused: bool  # the ledger asked for the wait (Retry-After, an exhausted remaining-count)
    minute_remaining: int | None  # as the ledger last reported them, when it reports them
    day_remaining: int | None


def headroom(provider: str, tenant_id: str, limits: RateLimits, now: dt.datetime | None = None) -> Headroom:
    """The tenant's budget without taking from it or locking it: the same pruning and wait as `acquire`,
    on a copy that is never saved (a page may read it as often as it likes)."""
    now = now or timezone.now()
    budget = TenantBudget.objects.filter(provider=provider, tenant_id=tenant_id).first()
    if budget is None:  # never called: the whole budget is there
        budget = TenantBudget(provider=provider, tenant_id=tenant_id, day_started_at=now)
    wait = _wait_needed(budget, limits, now)
    paused = bool(budget.paused_until and budget.paused_until > now) or (
        budget.day_remaining is not None and budget.day_remaining <= 0
    )
    return Headroom(
        minute_used=len(budget.minute_calls),
        per_minute=limits.per_minute,
        day_used=budget.day_count,
        per_day=limits.per_day,
        in_flight=len(budget.in_flight),
        max_in_flight=limits.in_flight,
        wait_s=wait,
        paused=paused,
        minute_remaining=budget.minute_remaining,
        day_remaining=budget.day_remaining,
    )


def release(
    provider: str,
    tenant_id: str,
    holder: str,
    reported: RateBudget | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Give back `holder`'s in-flight slot and record what the ledger said about the remaining budget."""
    now = now or timezone.now()
    with transaction.atomic():
        budget = _locked_budget(provider, tenant_id)
        budget.in_flight.pop(holder, None)
        if reported is not None:
            _apply_report(budget, reported, now)
        budget.save()


def _apply_report(budget: TenantBudget, reported: RateBudget, now: dt.datetime) -> None:
    if reported.minute_remaining is not None:
        budget.minute_remaining = reported.minute_remaining
    if reported.day_remaining is not None:
        budget.day_remaining = reported.day_remaining
    if reported.retry_after_s:
        pause_to = now + dt.timedelta(seconds=reported.retry_after_s)
        if budget.paused_until is None or pause_to > budget.paused_until:
            budget.paused_until = pause_to


def pause(provider: str, tenant_id: str, seconds: float, now: dt.datetime | None = None) -> None:
    """Stop every worker calling this tenant for `seconds` (a 429's Retry-After, an organisation offline)."""
    release(provider, tenant_id, holder="", reported=RateBudget(retry_after_s=seconds), now=now)
