"""The path every data call takes, in the order a ledger's gateway applies it (xero.md §4, §5, §10):
bearer token, tenant, rate limits, latency and gateway faults, the idempotency store, the operation, and a
"drop after commit". Provider-neutral: a ``WireRenderer`` turns each refusal into the ledger's own status,
body and headers, and the provider's ``operate`` callable does the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.wrappers import Request, Response

from .faults import GATEWAY_FAULTS, IDENTITY_FAULTS, TOKEN_FAULTS, CallInfo, Fault
from .grants import Access, AccessDenied
from .idempotency import Claim, StoredResponse, fingerprint
from .limiter import Cost
from .server import DROP_KEY

# Set on a write's environ when another user is to save its object first (Fault.STALE_SYNC_TOKEN).
CONCURRENT_EDIT_KEY = "sandbox.concurrent_edit"

if TYPE_CHECKING:
    from .plane import ControlPlane

Operate = Callable[[Request, Access, dict[str, Any]], Response]
Precheck = Callable[[Request, Access], Response | None]


@dataclass(frozen=True)
class KeyRequest:
    """An idempotency key as a ledger reads it. Xero's ``Idempotency-Key`` is per app and refuses reuse on a
    different request; QBO's ``requestid`` is per company and replays the first answer whatever is sent
    again (quickbooks.md §4). ``refusal`` answers a key the ledger would not accept (too long)."""

    key: str
    per_tenant: bool = False
    compare_request: bool = True
    refusal: Response | None = None


class WireRenderer(Protocol):
    """How one ledger shows the gateway's refusals and faults."""

    def denied(self, denied: AccessDenied) -> Response: ...

    def forbidden(self) -> Response: ...

    def rate_limited(self, problem: str, retry_after_s: int | None) -> Response: ...

    def fault(self, kind: Fault, retry_after_s: int, now: float) -> Response: ...

    def bad_request(self, message: str) -> Response: ...

    def acceptable(self, request: Request) -> Response | None: ...

    def remaining(self, response: Response, remaining: dict[str, int]) -> None: ...

    def idempotency(self, request: Request) -> KeyRequest | None: ...


class Gateway:
    """Runs one data call through the shared gates and logs it in the tenant's request log."""

    def __init__(self, plane: ControlPlane, renderer: WireRenderer) -> None:
        self.plane = plane
        self.renderer = renderer

    def bearer(self, request: Request) -> Access | AccessDenied:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return AccessDenied("missing")
        try:
            return self.plane.grants.verify_access(header[7:].strip())
        except AccessDenied as denied:
            return denied

    def log(
        self, request: Request, status: int, tenant_id: str | None, client_id: str | None, **extra: Any
    ) -> None:
        key = self.renderer.idempotency(request)
        self.plane.store.log_request(
            method=request.method,
            path=request.path,
            status=status,
            tenant_id=tenant_id,
            client_id=client_id,
            idempotency_key=None if key is None else key.key,
            replayed=extra.get("replayed", False),
            fault=extra.get("fault"),
        )

    def token_endpoint_fault(self, request: Request, client_id: str | None) -> str | None:
        """After the token endpoint ran: a lost answer (the rotation or exchange stands, the client never
        hears of it) closes the connection without a byte. Returns the fault's name for the log."""
        call = CallInfo(request.method, request.path, None, client_id)
        if request.method == "POST" and self.plane.faults.fire(call, IDENTITY_FAULTS):
            request.environ[DROP_KEY] = True
            return Fault.TOKEN_RESPONSE_LOST.value
        return None

    def serve(
        self,
        request: Request,
        tenant_id: str | None,
        operate: Operate,
        precheck: Precheck | None = None,
        cost: Cost | None = None,
    ) -> Response:
        """The whole gate sequence for one call to ``tenant_id``. ``precheck`` (routing, scopes) may refuse
        the call before the idempotency store sees it, so such a refusal is never cached under a key.
        ``cost`` is what the call spends of the rate limits (default: one call, not a batch)."""
        access = self.bearer(request)
        client_id = access.client_id if isinstance(access, Access) else None
        call = CallInfo(request.method, request.path, tenant_id, client_id, request.get_data(cache=True))
        if isinstance(access, AccessDenied):
            response = self.renderer.denied(access)
            self.log(request, response.status_code, tenant_id, client_id)
            return response
        for rule in self.plane.faults.fire(call, TOKEN_FAULTS):
            response = self.renderer.fault(rule.kind, 1, self.plane.clock.now())
            self.log(request, response.status_code, tenant_id, client_id, fault=rule.kind.value)
            return response
        tenant = self.plane.store.tenants.get(tenant_id or "")
        if tenant is None or not self.plane.grants.can_reach(access, tenant["tenant_id"]):
            self.log(request, 403, tenant_id, client_id)
            return self.renderer.forbidden()
        return self._limited(request, access, tenant, call, (operate, precheck), cost or Cost())

    def _limited(
        self,
        request: Request,
        access: Access,
        tenant: dict[str, Any],
        call: CallInfo,
        steps: tuple[Operate, Precheck | None],
        cost: Cost,
    ) -> Response:
        tenant_id = tenant["tenant_id"]
        admission = self.plane.limiter.acquire(access.client_id, tenant_id, cost)
        if admission.problem is not None:
            wait = None
            if admission.retry_after_s is not None:
                wait = self.plane.clock.retry_after(admission.retry_after_s)
            response = self.renderer.rate_limited(admission.problem, wait)
            self.renderer.remaining(response, admission.remaining)
            self.log(request, 429, tenant_id, access.client_id, fault="limit:" + admission.problem)
            return response
        try:
            response, replayed, fault = self._admitted(request, access, tenant, call, *steps)
        finally:
            self.plane.limiter.release(access.client_id, tenant_id, cost)
        dropped = bool(request.environ.get(DROP_KEY))
        if not dropped:
            self.renderer.remaining(response, admission.remaining)
        status = 0 if dropped else response.status_code
        self.log(request, status, tenant_id, access.client_id, replayed=replayed, fault=fault)
        return response

    def _admitted(
        self,
        request: Request,
        access: Access,
        tenant: dict[str, Any],
        call: CallInfo,
        operate: Operate,
        precheck: Precheck | None,
    ) -> tuple[Response, bool, str | None]:
        fired = self.plane.faults.fire(call, frozenset(Fault) - TOKEN_FAULTS - IDENTITY_FAULTS)
        delay = sum(rule.latency_ms for rule in fired if rule.kind is Fault.LATENCY)
        if delay:
            time.sleep(delay / 1000)  # holds the in-flight slot, as a slow ledger does
        for rule in fired:
            if rule.kind in GATEWAY_FAULTS:
                if rule.kind is Fault.DROP:
                    request.environ[DROP_KEY] = True
                    return Response(status=500), False, rule.kind.value
                if rule.kind is Fault.RATE_LIMIT_NO_RETRY_AFTER:
                    return self.renderer.rate_limited("minute", None), False, rule.kind.value
                retry = self.plane.clock.retry_after(60)
                return self.renderer.fault(rule.kind, retry, self.plane.clock.now()), False, rule.kind.value
        refused = self.renderer.acceptable(request) or (precheck(request, access) if precheck else None)
        if refused is not None:
            return refused, False, None
        server_error = any(rule.kind is Fault.SERVER_ERROR for rule in fired)
        drop_after = request.method != "GET" and any(rule.kind is Fault.DROP_AFTER_COMMIT for rule in fired)
        stale = request.method != "GET" and any(rule.kind is Fault.STALE_SYNC_TOKEN for rule in fired)
        request.environ[CONCURRENT_EDIT_KEY] = stale
        fault = "server_error" if server_error else ("drop_after_commit" if drop_after else None)
        fault = fault or ("stale_sync_token" if stale else None)

        def run() -> Response:
            if server_error:
                return self.renderer.fault(Fault.SERVER_ERROR, 1, self.plane.clock.now())
            return operate(request, access, tenant)

        key = self.renderer.idempotency(request)
        if key is None:
            response, replayed = run(), False
        elif key.refusal is not None:
            response, replayed = key.refusal, False
        else:
            response, replayed = self._idempotent(request, key, access, tenant, run)
        if drop_after:
            request.environ[DROP_KEY] = True
        return response, replayed, fault

    def _idempotent(
        self,
        request: Request,
        key: KeyRequest,
        access: Access,
        tenant: dict[str, Any],
        run: Callable[[], Response],
    ) -> tuple[Response, bool]:
        """First response per (app or tenant, key) replayed byte for byte; where the ledger compares
        requests, a different request under a key is refused."""
        request_print = ""
        if key.compare_request:
            query = request.query_string.decode()
            request_print = fingerprint(
                request.method, request.path.lower(), query, tenant["tenant_id"], request.get_data()
            )
        owner = tenant["tenant_id"] if key.per_tenant else access.client_id
        decision = self.plane.idempotency.claim(owner, key.key, request_print)
        if decision.claim is Claim.MISMATCH:
            message = "The Idempotency-Key has already been used for a different request."
            return self.renderer.bad_request(message), False
        if decision.claim is Claim.REPLAY:
            stored = decision.response
            assert stored is not None
            return Response(stored.body, status=stored.status, headers=list(stored.headers)), True
        try:
            response = run()
        except BaseException:
            self.plane.idempotency.abandon(owner, key.key)
            raise
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() != "content-length")
        stored = StoredResponse(response.status_code, headers, response.get_data())
        self.plane.idempotency.complete(owner, key.key, stored)
        return response, False
