"""The control plane as one object: the shared parts every sandbox wires together, and the WSGI entry point
that sends /_sandbox/* to the control API and everything else to the provider's routes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from .clock import SandboxClock
from .faults import FaultBoard
from .grants import Grants, OAuthPolicy
from .idempotency import IdempotencyStore
from .limiter import Budget, RateLimiter
from .state import Store


class Provider(Protocol):
    """What a ledger's sandbox supplies to the shared control plane."""

    name: str
    regions: tuple[str, ...]
    policy: OAuthPolicy
    budgets: tuple[Budget, ...]
    default_limits: dict[str, int]
    idempotency_retention_s: float

    def new_tenant_id(self) -> str: ...

    def redirect_params(self, scope: str, tenant_ids: list[str]) -> dict[str, str]:
        """What the consent redirect carries besides ``code`` and ``state`` (Xero: scope; QBO: realmId)."""
        ...

    def new_ledger(self, region: str, name: str, tenant_id: str, now: float) -> dict[str, Any]: ...

    def ledger_view(self, tenant: dict[str, Any]) -> dict[str, Any]: ...

    def tenant_page(self, tenant: dict[str, Any]) -> str: ...

    def scope_error(self, app: dict[str, Any], scope: str) -> str | None: ...

    def settings_error(self, settings: dict[str, Any]) -> str | None: ...

    def apply_settings(self, ledger: dict[str, Any]) -> None:
        """Bring the books in line with settings that change records (after a create, update or reset)."""
        ...

    def tier_limits(self, tier: str) -> dict[str, int]:
        """The budgets an app tier caps for each of its tenants; ValueError for an unknown tier."""
        ...

    def consent_error(self, app: dict[str, Any], tenant_ids: list[str]) -> str | None: ...

    def handle(self, request: Request) -> Response: ...


@dataclass(frozen=True)
class Options:
    """Command-line choices."""

    state_file: Path | None = None
    time_scale: float = 1.0
    control_token: str | None = None
    idempotency_retention_s: float | None = None  # None: the provider's own default


class ControlPlane:
    """Holds the shared state and services; ``provider_factory`` builds the provider around it."""

    def __init__(self, options: Options, provider_factory: Callable[[ControlPlane], Provider]) -> None:
        self.options = options
        self.clock = SandboxClock(options.time_scale)
        self.store = Store(self.clock, options.state_file)
        self.control_token = options.control_token or secrets.token_urlsafe(24)
        self.faults = FaultBoard(self.clock)
        self.provider = provider_factory(self)
        retention = options.idempotency_retention_s
        self.idempotency = IdempotencyStore(self.clock, retention or self.provider.idempotency_retention_s)
        self.limiter = RateLimiter(self.clock, self.provider.budgets, self.provider.default_limits)
        self.grants = Grants(self.store, self.provider.policy)
        for tenant in self.store.tenants.values():
            self.apply_limits(tenant)
        for app in self.store.apps.values():
            self.apply_tier(app)
        self.store.save()
        from .api import ControlAPI  # the API needs the plane; imported here to keep the module graph flat

        self.api = ControlAPI(self)

    def apply_limits(self, tenant: dict[str, Any]) -> None:
        self.limiter.set_limits(tenant["tenant_id"], tenant.get("limits", {}))

    def apply_tier(self, app: dict[str, Any]) -> None:
        for field, cap in self.provider.tier_limits(app.get("tier", "")).items():
            self.limiter.set_app_cap(app["client_id"], field, cap)

    def reset(self) -> None:
        """Back to an empty sandbox: no apps, tenants, grants, faults, cached keys or counters."""
        with self.store.lock:
            self.store.reset()
            self.faults.clear()
            self.idempotency.reset()
            self.limiter.reset()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/_sandbox" or request.path.startswith("/_sandbox/"):
            response = self.api.handle(request)
        else:
            response = self.provider.handle(request)
        return response(environ, start_response)
