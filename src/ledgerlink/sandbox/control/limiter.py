"""Xero-style rate limits per (app, tenant): calls in flight, a minute window, a day window, plus an
app-wide minute window (xero.md §5, §10 item 7).

Windows are fixed, start at a per-tenant offset (Xero: "reset at different times per tenant") and are measured
in sandbox seconds, so ``--time-scale`` shrinks them while keeping the ratios. A refused call is not counted.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from .clock import SandboxClock

MINUTE = 60.0
DAY = 86_400.0


class LimitProblem(StrEnum):
    """Values of ``X-Rate-Limit-Problem``. ``minute`` and ``day`` are observed at Xero; the other two are
    undocumented there and chosen here (docs/sandbox.md)."""

    MINUTE = "minute"
    DAY = "day"
    CONCURRENT = "concurrent"
    APP_MINUTE = "appminute"


@dataclass(frozen=True)
class Limits:
    """The budgets of one tenant for one app, and of the app overall."""

    in_flight: int = 5
    per_minute: int = 60
    per_day: int = 5_000
    app_per_minute: int = 10_000


@dataclass(frozen=True)
class Remaining:
    """What the ``X-*Limit-Remaining`` headers report after a call was admitted or refused."""

    day: int
    minute: int
    app_minute: int


@dataclass(frozen=True)
class Admission:
    """The limiter's answer: admitted (``problem`` None) or refused, with the wait in sandbox seconds."""

    remaining: Remaining
    problem: LimitProblem | None = None
    retry_after_s: float | None = None


@dataclass
class _Window:
    length: float
    offset: float
    index: int = -1
    used: int = 0

    def roll(self, now: float) -> None:
        index = int((now - self.offset) // self.length)
        if index != self.index:
            self.index, self.used = index, 0

    def seconds_left(self, now: float) -> float:
        return self.offset + (self.index + 1) * self.length - now


@dataclass
class _TenantCounters:
    minute: _Window
    day: _Window
    in_flight: int = 0
    limits: Limits = field(default_factory=Limits)


def _offset(key: str, length: float) -> float:
    """A stable per-tenant window start, so windows do not all reset at once."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % int(length)


class RateLimiter:
    """Admits or refuses calls; ``release`` must follow every admitted ``acquire``."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[tuple[str, str], _TenantCounters] = {}
        self._apps: dict[str, _Window] = {}
        self._limits: dict[str, Limits] = {}
        self._app_day_caps: dict[str, int] = {}

    def set_limits(self, tenant_id: str, limits: Limits) -> None:
        """Override a tenant's budgets (e.g. the Starter tier's 1,000 per day, or tiny ones for a test)."""
        with self._lock:
            self._limits[tenant_id] = limits
            for (_, tid), counters in self._tenants.items():
                if tid == tenant_id:
                    counters.limits = limits

    def set_app_day_cap(self, client_id: str, per_day: int) -> None:
        """Cap every tenant's day budget for one app (Xero's Starter tier: 1,000 per organisation)."""
        with self._lock:
            self._app_day_caps[client_id] = per_day

    def limits_for(self, tenant_id: str) -> Limits:
        return self._limits.get(tenant_id, Limits())

    def reset(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._apps.clear()
            self._limits.clear()
            self._app_day_caps.clear()

    def _counters(self, client_id: str, tenant_id: str) -> _TenantCounters:
        key = (client_id, tenant_id)
        counters = self._tenants.get(key)
        if counters is None:
            seed = f"{client_id}/{tenant_id}"
            counters = _TenantCounters(
                minute=_Window(MINUTE, _offset(seed, MINUTE)),
                day=_Window(DAY, _offset(seed, DAY)),
                limits=self.limits_for(tenant_id),
            )
            self._tenants[key] = counters
        return counters

    def _app(self, client_id: str) -> _Window:
        window = self._apps.get(client_id)
        if window is None:
            window = self._apps[client_id] = _Window(MINUTE, _offset(client_id, MINUTE))
        return window

    def acquire(self, client_id: str, tenant_id: str) -> Admission:
        """Count one call against every budget, or refuse it naming the first budget exhausted."""
        now = self.clock.now()
        with self._lock:
            tenant = self._counters(client_id, tenant_id)
            app = self._app(client_id)
            for window in (tenant.minute, tenant.day, app):
                window.roll(now)
            limits = tenant.limits
            per_day = min(limits.per_day, self._app_day_caps.get(client_id, limits.per_day))
            problem, wait = None, None
            if tenant.day.used >= per_day:
                problem, wait = LimitProblem.DAY, tenant.day.seconds_left(now)
            elif tenant.minute.used >= limits.per_minute:
                problem, wait = LimitProblem.MINUTE, tenant.minute.seconds_left(now)
            elif app.used >= limits.app_per_minute:
                problem = LimitProblem.APP_MINUTE
            elif tenant.in_flight >= limits.in_flight:
                problem = LimitProblem.CONCURRENT
            else:
                tenant.day.used += 1
                tenant.minute.used += 1
                app.used += 1
                tenant.in_flight += 1
            remaining = Remaining(
                day=max(0, per_day - tenant.day.used),
                minute=max(0, limits.per_minute - tenant.minute.used),
                app_minute=max(0, limits.app_per_minute - app.used),
            )
            return Admission(remaining, problem, wait)

    def release(self, client_id: str, tenant_id: str) -> None:
        with self._lock:
            counters = self._tenants.get((client_id, tenant_id))
            if counters is not None and counters.in_flight > 0:
                counters.in_flight -= 1
