"""Rate limits as a provider declares them: named budgets, each a fixed window or an in-flight cap, kept per
(app, tenant), per tenant or per app (xero.md §5; quickbooks.md §5).

Xero meters every call against 60/min, 5,000/day and 5 in flight per (app, tenant) plus 10,000/min per app;
QuickBooks meters 500/min per company, 10 in flight per (app, company) and batch calls against 40/min per
(app, company) and 120/min per company. Windows are fixed, start at a stable per-key offset (Xero: "reset at
different times per tenant") and are measured in sandbox seconds, so ``--time-scale`` shrinks them while
keeping the ratios. A refused call is counted nowhere.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .clock import SandboxClock

MINUTE = 60.0
DAY = 86_400.0


class Scope(Enum):
    """Whose calls share a budget."""

    APP_TENANT = "app_tenant"
    TENANT = "tenant"
    APP = "app"


@dataclass(frozen=True)
class Budget:
    """One limit. ``field`` names its size in a tenant's limits; ``problem`` is what a refusal reports.
    ``window_s`` None makes it an in-flight cap. ``batch_only`` budgets count batch requests, once each;
    the others count a call's ``units``."""

    field: str
    problem: str
    scope: Scope
    window_s: float | None = MINUTE
    batch_only: bool = False
    retry_after: bool = True


@dataclass(frozen=True)
class Cost:
    """What one call spends: ``units`` against the ordinary windows (a batch may count per item) and whether
    it is a batch request."""

    units: int = 1
    batch: bool = False


@dataclass(frozen=True)
class Admission:
    """The limiter's answer: admitted (``problem`` None) or refused, with the wait in sandbox seconds.
    ``remaining`` maps each window budget's field to what is left of it."""

    remaining: dict[str, int]
    problem: str | None = None
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


def _offset(key: str, length: float) -> float:
    """A stable per-key window start, so windows do not all reset at once."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % int(length)


def _scope_key(scope: Scope, client_id: str, tenant_id: str) -> str:
    if scope is Scope.APP:
        return client_id
    if scope is Scope.TENANT:
        return tenant_id
    return f"{client_id}/{tenant_id}"


class RateLimiter:
    """Admits or refuses calls against ``budgets`` (checked in order); ``release`` must follow every
    admitted ``acquire``."""

    def __init__(self, clock: SandboxClock, budgets: tuple[Budget, ...], defaults: Mapping[str, int]) -> None:
        self.clock = clock
        self.budgets = budgets
        self.defaults = dict(defaults)
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._limits: dict[str, dict[str, int]] = {}
        self._app_caps: dict[str, dict[str, int]] = {}

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.defaults)

    def set_limits(self, tenant_id: str, overrides: Mapping[str, int]) -> None:
        """A tenant's budgets: the provider's defaults with ``overrides`` (e.g. tiny ones for a test)."""
        with self._lock:
            self._limits[tenant_id] = {**self.defaults, **overrides}

    def set_app_cap(self, client_id: str, field: str, value: int) -> None:
        """Cap one budget for every tenant of one app (Xero's Starter tier: 1,000 a day per organisation)."""
        with self._lock:
            self._app_caps.setdefault(client_id, {})[field] = value

    def limits_for(self, tenant_id: str) -> dict[str, int]:
        return self._limits.get(tenant_id, self.defaults)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._in_flight.clear()
            self._limits.clear()
            self._app_caps.clear()

    def _size(self, budget: Budget, client_id: str, tenant_id: str) -> int:
        size = self.limits_for(tenant_id)[budget.field]
        return min(size, self._app_caps.get(client_id, {}).get(budget.field, size))

    def _window(self, budget: Budget, key: str, now: float) -> _Window:
        window = self._windows.get((budget.field, key))
        if window is None:
            assert budget.window_s is not None
            window = _Window(budget.window_s, _offset(key, budget.window_s))
            self._windows[(budget.field, key)] = window
        window.roll(now)
        return window

    def acquire(self, client_id: str, tenant_id: str, cost: Cost | None = None) -> Admission:
        """Count one call against every budget it touches, or refuse it naming the first one exhausted."""
        cost = cost or Cost()
        now = self.clock.now()
        with self._lock:
            windows: list[tuple[Budget, _Window, int, int]] = []
            flights: list[tuple[str, str]] = []
            refusal: tuple[str, float | None] | None = None
            for budget in self._touched(cost):
                key = _scope_key(budget.scope, client_id, tenant_id)
                size = self._size(budget, client_id, tenant_id)
                if budget.window_s is None:
                    if refusal is None and self._in_flight.get((budget.field, key), 0) >= size:
                        refusal = (budget.problem, None)
                    flights.append((budget.field, key))
                    continue
                window = self._window(budget, key, now)
                units = 1 if budget.batch_only else cost.units
                if refusal is None and window.used + units > size:
                    refusal = (budget.problem, window.seconds_left(now) if budget.retry_after else None)
                windows.append((budget, window, units, size))
            if refusal is None:
                for _, window, units, _ in windows:
                    window.used += units
                for flight in flights:
                    self._in_flight[flight] = self._in_flight.get(flight, 0) + 1
            remaining = {b.field: max(0, size - w.used) for b, w, _, size in windows}
            return Admission(remaining) if refusal is None else Admission(remaining, *refusal)

    def windows(self, client_id: str, tenant_id: str) -> dict[str, dict[str, float]]:
        """Each window budget as one app sees it for one tenant now: calls used, its size, and the seconds
        until it opens anew (what a test or benchmark needs to start at a known phase)."""
        now = self.clock.now()
        with self._lock:
            seen: dict[str, dict[str, float]] = {}
            for budget in self.budgets:
                if budget.window_s is None:
                    continue
                window = self._window(budget, _scope_key(budget.scope, client_id, tenant_id), now)
                seen[budget.field] = {
                    "used": window.used,
                    "size": self._size(budget, client_id, tenant_id),
                    "resets_in_s": window.seconds_left(now),
                }
            return seen

    def _touched(self, cost: Cost) -> list[Budget]:
        return [b for b in self.budgets if cost.batch or not b.batch_only]

    def release(self, client_id: str, tenant_id: str, cost: Cost | None = None) -> None:
        cost = cost or Cost()
        with self._lock:
            for budget in self._touched(cost):
                if budget.window_s is not None:
                    continue
                flight = (budget.field, _scope_key(budget.scope, client_id, tenant_id))
                if self._in_flight.get(flight, 0) > 0:
                    self._in_flight[flight] -= 1
