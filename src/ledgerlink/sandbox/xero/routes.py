"""Xero's HTTP surface at its real paths: identity (``/identity/connect/authorize``, ``/connect/token``,
``/connect/revocation``, ``/connections``) and the Accounting API under ``/api.xro/2.0``.

Every Accounting call passes the same gates in Xero's order (xero.md §4, §5, §10): bearer token (401),
tenant header (403), scope (401), rate limits (429), latency and gateway faults, the idempotency store, then
the operation itself; a "drop after commit" fault runs the operation and closes the connection unanswered.
"""

from __future__ import annotations

import base64
import binascii
import html
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..control.consent import consent_page
from ..control.faults import GATEWAY_FAULTS, TOKEN_FAULTS, CallInfo, Fault
from ..control.grants import Access, AccessDenied, OAuthError, OAuthPolicy
from ..control.idempotency import Claim, StoredResponse, fingerprint
from ..control.limiter import Remaining
from ..control.server import DROP_KEY
from . import faults as xf
from . import seed
from .ledger import CENT, Books, Outcome
from .where import WhereError, compile_where
from .wire import BodyError, csv_param, elements, envelope, iso_instant, parse_bool, parse_json, render

if TYPE_CHECKING:
    from ..control.plane import ControlPlane

API_PREFIX = "/api.xro/2.0"
MAX_IDEMPOTENCY_KEY = 128
IDENTITY_SCOPES = {"openid", "profile", "email", "offline_access"}
BROAD_SCOPES = {"accounting.transactions", "accounting.transactions.read"}
GRANULAR_SCOPES = {
    f"accounting.{name}{suffix}"
    for name in ("invoices", "payments", "banktransactions", "manualjournals", "classicexpenses")
    for suffix in ("", ".read")
}
OTHER_SCOPES = {
    f"accounting.{name}{suffix}"
    for name in ("contacts", "settings", "attachments")
    for suffix in ("", ".read")
} | {"accounting.journals.read", "accounting.reports.read", "accounting.budgets.read", "paymentservices"}
KNOWN_SCOPES = IDENTITY_SCOPES | BROAD_SCOPES | GRANULAR_SCOPES | OTHER_SCOPES
# Which scopes let a call read or write a resource family (xero.md §1 "Scopes"; granular mapping per apideck).
SCOPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "settings": ("accounting.settings",),
    "contacts": ("accounting.contacts",),
    "invoices": ("accounting.invoices", "accounting.transactions"),
    "payments": ("accounting.payments", "accounting.transactions"),
    "items": ("accounting.settings", "accounting.invoices", "accounting.transactions"),
}
PAGED_DEFAULT, PAGED_MAX = 100, 1000


def _scope_allows(scopes: frozenset[str], family: str, write: bool) -> bool:
    return any(base in scopes or (not write and f"{base}.read" in scopes) for base in SCOPE_FAMILIES[family])


def _accepts_json(request: Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "json" in accept.lower()


class XeroProvider:
    """The Xero side of a sandbox: its OAuth policy, seed data, routes and views."""

    name = "xero"
    regions = seed.REGIONS

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.policy = OAuthPolicy(issuer="https://identity.xero.com")
        self.identity = Map(
            [
                Rule("/identity/connect/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/connect/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/connect/token", endpoint="token", methods=["POST"]),
                Rule("/connect/revocation", endpoint="revocation", methods=["POST"]),
                Rule("/connections", endpoint="connections", methods=["GET"]),
                Rule("/connections/<connection_id>", endpoint="disconnect", methods=["DELETE"]),
                Rule("/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
                Rule("/.well-known/openid-configuration/jwks", endpoint="jwks", methods=["GET"]),
            ],
            strict_slashes=False,
        )
        read, write = ["GET"], ["PUT", "POST"]
        self.accounting = Map(
            [
                Rule("/organisation", endpoint=("organisation", "settings"), methods=read),
                Rule("/accounts", endpoint=("accounts", "settings"), methods=read),
                Rule("/accounts/<key>", endpoint=("account", "settings"), methods=read),
                Rule("/taxrates", endpoint=("tax_rates", "settings"), methods=read),
                Rule("/taxrates/<key>", endpoint=("tax_rate", "settings"), methods=read),
                Rule("/trackingcategories", endpoint=("tracking", "settings"), methods=read),
                Rule("/items", endpoint=("items", "items"), methods=read + write),
                Rule("/items/<key>", endpoint=("item", "items"), methods=[*read, "POST"]),
                Rule("/contacts", endpoint=("contacts", "contacts"), methods=read + write),
                Rule("/contacts/<key>", endpoint=("contact", "contacts"), methods=[*read, "POST"]),
                Rule("/invoices", endpoint=("invoices", "invoices"), methods=read + write),
                Rule("/invoices/<key>", endpoint=("invoice", "invoices"), methods=[*read, "POST"]),
                Rule("/creditnotes", endpoint=("credit_notes", "invoices"), methods=read + write),
                Rule("/creditnotes/<key>", endpoint=("credit_note", "invoices"), methods=[*read, "POST"]),
                Rule("/creditnotes/<key>/allocations", endpoint=("allocate", "invoices"), methods=["PUT"]),
                Rule(
                    "/creditnotes/<key>/allocations/<allocation_id>",
                    endpoint=("unallocate", "invoices"),
                    methods=["DELETE"],
                ),
                Rule("/payments", endpoint=("payments", "payments"), methods=read + write),
                Rule("/payments/<key>", endpoint=("payment", "payments"), methods=[*read, "POST"]),
            ],
            strict_slashes=False,
        )
        self.operations: dict[str, Callable[..., Response]] = {
            "organisation": self.get_organisation,
            "accounts": self.get_accounts,
            "account": self.get_account,
            "tax_rates": self.get_tax_rates,
            "tax_rate": self.get_tax_rate,
            "tracking": self.get_tracking,
            "items": self.items,
            "item": self.item,
            "contacts": self.contacts,
            "contact": self.contact,
            "invoices": self.invoices,
            "invoice": self.invoice,
            "credit_notes": self.credit_notes,
            "credit_note": self.credit_note,
            "allocate": self.allocate,
            "unallocate": self.unallocate,
            "payments": self.payments,
            "payment": self.payment,
        }

    # -- provider hooks ---------------------------------------------------------------------------------
    def new_ledger(self, region: str, name: str, tenant_id: str, now: float) -> dict[str, Any]:
        return seed.new_ledger(region, name, tenant_id, now)

    def scope_error(self, app: dict[str, Any], scope: str) -> str | None:
        """``invalid_scope`` for unknown scopes, or broad ones on an app created after 2026-03-02."""
        scopes = set(scope.split())
        if not scopes or scopes - KNOWN_SCOPES:
            return "invalid_scope"
        if app.get("granular_only") and scopes & BROAD_SCOPES:
            return "invalid_scope"
        return None

    def ledger_view(self, tenant: dict[str, Any]) -> dict[str, Any]:
        """A tenant's books as Xero would return them, for test assertions."""
        ledger = tenant["ledger"]
        books = Books(ledger, self.plane.clock.now())
        return {
            "tenant_id": tenant["tenant_id"],
            "region": tenant["region"],
            "name": tenant["name"],
            "Contacts": render(list(ledger["contacts"].values())),
            "Invoices": render([self._invoice_view(ledger, d) for d in ledger["invoices"].values()]),
            "Payments": render([books.payment_view(p) for p in ledger["payments"].values()]),
            "CreditNotes": render(list(ledger["credit_notes"].values())),
            "Items": render(ledger["items"]),
        }

    def tenant_page(self, tenant: dict[str, Any], token_query: str) -> str:
        ledger = tenant["ledger"]
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(d.get('InvoiceNumber', ''))}</td><td>{esc(d['Type'])}</td>"
            f"<td>{esc(d.get('Contact', {}).get('Name', ''))}</td><td>{d['Date']}</td><td>{d['Status']}</td>"
            f"<td class=n>{d['Total']:.2f}</td><td class=n>{d['AmountPaid']:.2f}</td>"
            f"<td class=n>{d['AmountDue']:.2f}</td></tr>"
            for d in ledger["invoices"].values()
        )
        payments = "".join(
            f"<tr><td>{p['Date']}</td><td>{esc(p.get('Reference', ''))}</td><td>{p['Status']}</td>"
            f"<td class=n>{p['Amount']:.2f}</td></tr>"
            for p in ledger["payments"].values()
        )
        notes = "".join(
            f"<tr><td>{esc(c.get('CreditNoteNumber', ''))}</td><td>{c['Status']}</td>"
            f"<td class=n>{c['Total']:.2f}</td><td class=n>{c['RemainingCredit']:.2f}</td></tr>"
            for c in ledger["credit_notes"].values()
        )
        style = (
            "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b2733}table{border-collapse:collapse;"
            "margin-bottom:2rem}td,th{border-bottom:1px solid #e0e6ea;padding:.3rem .8rem;text-align:left}"
            ".n{text-align:right;font-variant-numeric:tabular-nums}"
        )
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
            f"<title>{esc(tenant['name'])}</title><style>{style}</style></head><body>"
            f"<h1>{esc(tenant['name'])} <small>({tenant['region']}, Xero sandbox)</small></h1>"
            f"<p>{len(ledger['contacts'])} contacts</p><h2>Invoices</h2><table><tr><th>Number</th>"
            "<th>Type</th><th>Contact</th><th>Date</th><th>Status</th><th>Total</th><th>Paid</th><th>Due</th>"
            f"</tr>{rows}</table><h2>Payments</h2><table><tr><th>Date</th><th>Reference</th><th>Status</th>"
            f"<th>Amount</th></tr>{payments}</table><h2>Credit notes</h2><table><tr><th>Number</th>"
            "<th>Status</th><th>Total</th>"
            f"<th>Remaining</th></tr>{notes}</table></body></html>"
        )

    # -- dispatch ---------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        if path.lower() == API_PREFIX.lower() or path.lower().startswith(API_PREFIX.lower() + "/"):
            return self._accounting(request, path[len(API_PREFIX) :].lower() or "/")
        adapter = self.identity.bind("sandbox", path_info=self._identity_path(path))
        try:
            endpoint, values = adapter.match(method=request.method)
        except HTTPException as exc:
            return xf.text_response(exc.description or "Not found", exc.code or 404)
        handler = getattr(self, f"identity_{endpoint}")
        response: Response = handler(request, **values)
        self._log(request, response.status_code, None, None)
        return response

    @staticmethod
    def _identity_path(path: str) -> str:
        # xero-python calls /Connections with a capital C (real-clients.md trap 2).
        lowered = path.lower()
        return lowered if lowered.startswith("/connections") else path

    def _log(
        self,
        request: Request,
        status: int,
        tenant_id: str | None,
        client_id: str | None,
        replayed: bool = False,
        fault: str | None = None,
    ) -> None:
        self.plane.store.log_request(
            method=request.method,
            path=request.path,
            status=status,
            tenant_id=tenant_id,
            client_id=client_id,
            idempotency_key=request.headers.get("Idempotency-Key"),
            replayed=replayed,
            fault=fault,
        )

    # -- identity ---------------------------------------------------------------------------------------
    def identity_discovery(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        return xf.json_response(
            {
                "issuer": self.policy.issuer,
                "authorization_endpoint": f"{base}/identity/connect/authorize",
                "token_endpoint": f"{base}/connect/token",
                "revocation_endpoint": f"{base}/connect/revocation",
                "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    def identity_jwks(self, request: Request) -> Response:
        return xf.json_response(self.plane.grants.jwks())

    def identity_authorize(self, request: Request) -> Response:
        """The browser leg: validate, show the consent page, then redirect back with code and state."""
        params = request.form if request.method == "POST" else request.args
        app = self.plane.store.apps.get(params.get("client_id", ""))
        if app is None:
            return xf.text_response("unauthorized_client: unknown client_id", 400)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in app["redirect_uris"]:
            return xf.text_response("invalid_request: redirect_uri is not registered for this app", 400)
        state = params.get("state", "")

        def back(**query: str) -> Response:
            if state:
                query["state"] = state
            return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})

        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scope = params.get("scope", "")
        error = self.scope_error(app, scope)
        if error:
            return back(error=error, error_description="Invalid scope for client")
        challenge = params.get("code_challenge") or None
        if challenge and params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="code_challenge_method must be S256")
        if request.method == "GET":
            hidden = {k: params.get(k, "") for k in (
                "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                "code_challenge_method",
            )}  # fmt: skip
            with self.plane.store.lock:
                tenants = list(self.plane.store.tenants.values())
            page = consent_page("Xero", app["name"], scope, tenants, hidden, request.path)
            return Response(page, content_type="text/html; charset=utf-8")
        if params.get("decision") != "allow":
            return back(error="access_denied")
        tenant_ids = [t for t in request.form.getlist("tenant_id") if t in self.plane.store.tenants]
        code = self.plane.grants.issue_code(
            app["client_id"], redirect_uri, scope, tenant_ids, params.get("user_id") or None, challenge
        )
        return back(code=code, scope=" ".join(scope.split()))

    def _client_credentials(self, request: Request) -> tuple[str | None, str | None]:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return request.form.get("client_id"), request.form.get("client_secret")

    def identity_token(self, request: Request) -> Response:
        """Token endpoint: Basic or body client auth; authorization_code and refresh_token grants."""
        try:
            client_id, secret = self._client_credentials(request)
            app = self.plane.grants.authenticate_client(client_id, secret)
            grant_type = request.form.get("grant_type")
            if grant_type == "authorization_code":
                tokens = self.plane.grants.exchange_code(
                    app,
                    request.form.get("code", ""),
                    request.form.get("redirect_uri", ""),
                    request.form.get("code_verifier"),
                    secret is not None,
                )
            elif grant_type == "refresh_token":
                tokens = self.plane.grants.refresh(
                    app, request.form.get("refresh_token", ""), secret is not None
                )
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            body = {"error": exc.code}
            if exc.description:
                body["error_description"] = exc.description
            return xf.json_response(body, exc.status, {"Cache-Control": "no-store"})
        return xf.json_response(tokens, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def identity_revocation(self, request: Request) -> Response:
        try:
            client_id, secret = self._client_credentials(request)
            app = self.plane.grants.authenticate_client(client_id, secret)
        except OAuthError as exc:
            return xf.json_response({"error": exc.code}, exc.status)
        self.plane.grants.revoke_refresh(app, request.form.get("token", ""))
        return Response(status=200)

    def _bearer(self, request: Request) -> Access | Response:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return xf.authorization_unsuccessful()
        try:
            return self.plane.grants.verify_access(header[7:].strip())
        except AccessDenied as denied:
            if denied.reason == "expired":
                return xf.token_expired(denied.expired_at)
            return xf.authorization_unsuccessful()

    def identity_connections(self, request: Request) -> Response:
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        event = request.args.get("authEventId")
        with self.plane.store.lock:
            rows = [
                {
                    "id": c["id"],
                    "authEventId": c["auth_event_id"],
                    "tenantId": c["tenant_id"],
                    "tenantType": "ORGANISATION",
                    "tenantName": self.plane.store.tenants[c["tenant_id"]]["name"],
                    "createdDateUtc": iso_instant(c["created_at"]) + ".0000000",
                    "updatedDateUtc": iso_instant(c["updated_at"]) + ".0000000",
                }
                for c in self.plane.grants.connections_for(access)
                if c["tenant_id"] in self.plane.store.tenants and (not event or c["auth_event_id"] == event)
            ]
        return xf.json_response(rows)

    def identity_disconnect(self, request: Request, connection_id: str) -> Response:
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        if not self.plane.grants.disconnect(access, connection_id):
            return xf.not_found()
        return Response(status=204)

    # -- the accounting pipeline ------------------------------------------------------------------------
    def _rate_headers(self, response: Response, remaining: Remaining) -> Response:
        response.headers["X-DayLimit-Remaining"] = str(remaining.day)
        response.headers["X-MinLimit-Remaining"] = str(remaining.minute)
        response.headers["X-AppMinLimit-Remaining"] = str(remaining.app_minute)
        return response

    def _accounting(self, request: Request, subpath: str) -> Response:
        tenant_id = request.headers.get("xero-tenant-id", "").strip().lower() or None
        access = self._bearer(request)
        client_id = access.client_id if isinstance(access, Access) else None
        call = CallInfo(request.method, request.path, tenant_id, client_id)
        response, fault = self._gate_token(access, call)
        if response is not None:
            self._log(request, response.status_code, tenant_id, client_id, fault=fault)
            return response
        assert isinstance(access, Access)
        tenant = self.plane.store.tenants.get(tenant_id or "")
        if tenant is None or not self.plane.grants.can_reach(access, tenant["tenant_id"]):
            response = xf.authentication_unsuccessful()
            self._log(request, 403, tenant_id, client_id)
            return response
        tenant_id = tenant["tenant_id"]
        admission = self.plane.limiter.acquire(access.client_id, tenant_id)
        if admission.problem is not None:
            wait = (
                None
                if admission.retry_after_s is None
                else self.plane.clock.retry_after(admission.retry_after_s)
            )
            response = self._rate_headers(xf.rate_limited(admission.problem, wait), admission.remaining)
            self._log(request, 429, tenant_id, client_id, fault="limit:" + admission.problem.value)
            return response
        try:
            response, replayed, fault = self._admitted(request, subpath, access, tenant, call)
        finally:
            self.plane.limiter.release(access.client_id, tenant_id)
        if not request.environ.get(DROP_KEY):
            self._rate_headers(response, admission.remaining)
        status = 0 if request.environ.get(DROP_KEY) else response.status_code
        self._log(request, status, tenant_id, client_id, replayed, fault)
        return response

    def _gate_token(self, access: Access | Response, call: CallInfo) -> tuple[Response | None, str | None]:
        if isinstance(access, Response):
            return access, None
        for rule in self.plane.faults.fire(call, TOKEN_FAULTS):
            return xf.render_fault(rule.kind, 1, self.plane.clock.now()), rule.kind.value
        return None, None

    def _admitted(
        self, request: Request, subpath: str, access: Access, tenant: dict[str, Any], call: CallInfo
    ) -> tuple[Response, bool, str | None]:
        fired = self.plane.faults.fire(call, frozenset(Fault) - TOKEN_FAULTS)
        delay = sum(rule.latency_ms for rule in fired if rule.kind is Fault.LATENCY)
        if delay:
            time.sleep(delay / 1000)
        for rule in fired:
            if rule.kind in GATEWAY_FAULTS:
                if rule.kind is Fault.DROP:
                    request.environ[DROP_KEY] = True
                    return Response(status=500), False, rule.kind.value
                retry = self.plane.clock.retry_after(60)
                return xf.render_fault(rule.kind, retry), False, rule.kind.value  # type: ignore[return-value]
        if not _accepts_json(request):
            return xf.not_acceptable(), False, None
        server_error = any(rule.kind is Fault.SERVER_ERROR for rule in fired)
        drop_after = any(rule.kind is Fault.DROP_AFTER_COMMIT for rule in fired) and request.method != "GET"
        fault = "server_error" if server_error else ("drop_after_commit" if drop_after else None)

        def run() -> Response:
            if server_error:
                return xf.render_fault(Fault.SERVER_ERROR, 1)  # type: ignore[return-value]
            return self._operate(request, subpath, access, tenant)

        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in ("PUT", "POST"):
            response, replayed = run(), False
        else:
            response, replayed = self._idempotent(request, key, access, tenant, run)
        if drop_after:
            request.environ[DROP_KEY] = True
        return response, replayed, fault

    def _idempotent(
        self, request: Request, key: str, access: Access, tenant: dict[str, Any], run: Callable[[], Response]
    ) -> tuple[Response, bool]:
        """First response per (app, key) replayed byte for byte; a different request under a key refused."""
        if len(key) > MAX_IDEMPOTENCY_KEY:
            return xf.bad_request(f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters."), False
        print_ = fingerprint(request.method, request.path.lower(), request.query_string.decode(),
                             tenant["tenant_id"], request.get_data())  # fmt: skip
        decision = self.plane.idempotency.claim(access.client_id, key, print_)
        if decision.claim is Claim.MISMATCH:
            message = "The Idempotency-Key has already been used for a different request."
            return xf.bad_request(message), False
        if decision.claim is Claim.REPLAY:
            stored = decision.response
            assert stored is not None
            return Response(stored.body, status=stored.status, headers=list(stored.headers)), True
        try:
            response = run()
        except BaseException:
            self.plane.idempotency.abandon(access.client_id, key)
            raise
        stored = StoredResponse(
            response.status_code,
            tuple((k, v) for k, v in response.headers.items() if k.lower() != "content-length"),
            response.get_data(),
        )
        self.plane.idempotency.complete(access.client_id, key, stored)
        return response, False

    def _operate(self, request: Request, subpath: str, access: Access, tenant: dict[str, Any]) -> Response:
        adapter = self.accounting.bind("sandbox", path_info=subpath)
        try:
            (operation, family), values = adapter.match(method=request.method)
        except HTTPException as exc:
            if exc.code == 405:
                return xf.text_response("The method is not implemented for this endpoint", 501)
            return xf.not_found()
        if not _scope_allows(access.scopes, family, request.method != "GET"):
            return xf.authorization_unsuccessful(insufficient_scope=True)
        unitdp = 4 if request.args.get("unitdp") == "4" else 2
        with self.plane.store.lock:
            books = Books(tenant["ledger"], self.plane.clock.now(), access.client_id, unitdp)
            try:
                response = self.operations[operation](request, books, **values)
            except (BodyError, WhereError) as exc:
                return xf.bad_request(str(exc))
            if request.method != "GET":
                self.plane.store.save()
            return response

    # -- shared list/write helpers ----------------------------------------------------------------------
    def _now(self) -> float:
        return self.plane.clock.now()

    def _list(
        self,
        request: Request,
        key: str,
        rows: list[dict[str, Any]],
        id_field: str,
        paged: bool,
        view: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: row,
    ) -> Response:
        """where, If-Modified-Since, order, then paging (only when ``page`` is given) (xero.md §2)."""
        predicate = compile_where(request.args.get("where"))
        since = request.headers.get("If-Modified-Since")
        if since:
            try:
                cutoff = parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                cutoff = 0.0
            rows = [r for r in rows if r.get("UpdatedDateUTC", 0) > cutoff]
        views = [view(row) for row in rows]
        views = [v for v in views if predicate(v)]
        views.sort(key=lambda v: (v.get("UpdatedDateUTC", 0), str(v.get(id_field, ""))))
        order = request.args.get("order")
        if order:
            field, _, direction = order.strip().partition(" ")
            views.sort(key=lambda v: str(v.get(field, "")), reverse=direction.strip().upper() == "DESC")
        extra: dict[str, Any] = {}
        if paged and request.args.get("page"):
            page = max(1, request.args.get("page", 1, type=int) or 1)
            size = min(
                PAGED_MAX, max(1, request.args.get("pageSize", PAGED_DEFAULT, type=int) or PAGED_DEFAULT)
            )
            count = len(views)
            extra["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": -(-count // size),
                "itemCount": count,
            }
            views = views[(page - 1) * size : page * size]
        return xf.json_response(envelope(key, views, self._now(), **extra))

    def _write(
        self, request: Request, key: str, save: Callable[[Any], Outcome], many: bool = True
    ) -> Response:
        """Run ``save`` per element; summarizeErrors=false → 200 with per-element status, else 400 on any
        error while the valid elements stay saved (xero.md §3 "Batching")."""
        items = elements(parse_json(request.get_data()), key)
        if not many:
            items = items[:1]
        outcomes = [save(item) for item in items]
        summarize = parse_bool(request.args.get("summarizeErrors"), default=True)
        if not summarize:
            rows = []
            for outcome in outcomes:
                row = dict(outcome.entity)
                if outcome.ok:
                    row["StatusAttributeString"] = "WARNING" if outcome.warnings else "OK"
                    if outcome.warnings:
                        row["Warnings"] = [{"Message": m} for m in outcome.warnings]
                else:
                    row["StatusAttributeString"] = "ERROR"
                    row["ValidationErrors"] = [{"Message": m} for m in outcome.problems.messages]  # type: ignore[union-attr]
                rows.append(row)
            return xf.json_response(envelope(key, rows, self._now()))
        failed = [o for o in outcomes if not o.ok]
        if failed:
            echoes = []
            for outcome in failed:
                echo = dict(outcome.entity)
                echo["ValidationErrors"] = [{"Message": m} for m in outcome.problems.messages]  # type: ignore[union-attr]
                echoes.append(echo)
            return xf.validation_exception(echoes)
        rows = []
        for outcome in outcomes:
            row = dict(outcome.entity)
            if outcome.warnings:
                row["Warnings"] = [{"Message": m} for m in outcome.warnings]
            rows.append(row)
        return xf.json_response(envelope(key, rows, self._now()))

    # -- settings ---------------------------------------------------------------------------------------
    def get_organisation(self, request: Request, books: Books) -> Response:
        return xf.json_response(envelope("Organisations", [books.ledger["organisation"]], self._now()))

    def get_accounts(self, request: Request, books: Books) -> Response:
        return self._list(request, "Accounts", books.ledger["accounts"], "AccountID", paged=False)

    def get_account(self, request: Request, books: Books, key: str) -> Response:
        account = books.account({"AccountID": key})
        if account is None:
            return xf.not_found()
        return xf.json_response(envelope("Accounts", [account], self._now()))

    def get_tax_rates(self, request: Request, books: Books) -> Response:
        return self._list(request, "TaxRates", books.ledger["tax_rates"], "TaxType", paged=False)

    def get_tax_rate(self, request: Request, books: Books, key: str) -> Response:
        rate = books.tax_rate(key.upper())
        if rate is None:
            return xf.not_found()
        return xf.json_response(envelope("TaxRates", [rate], self._now()))

    def get_tracking(self, request: Request, books: Books) -> Response:
        include_archived = parse_bool(request.args.get("includeArchived"))
        rows = []
        for category in books.ledger["tracking"]:
            if category["Status"] != "ACTIVE" and not include_archived:
                continue
            options = [o for o in category["Options"] if include_archived or o["Status"] == "ACTIVE"]
            rows.append({**category, "Options": options})
        return self._list(request, "TrackingCategories", rows, "TrackingCategoryID", paged=False)

    def items(self, request: Request, books: Books) -> Response:
        if request.method == "GET":
            return self._list(request, "Items", books.ledger["items"], "ItemID", paged=False)
        return self._write(request, "Items", lambda raw: books.save_item(raw, request.method == "PUT"))

    def item(self, request: Request, books: Books, key: str) -> Response:
        found = next((i for i in books.ledger["items"] if key in (i["ItemID"], i["Code"].lower())), None)
        if request.method == "GET":
            return (
                xf.not_found() if found is None else xf.json_response(envelope("Items", [found], self._now()))
            )
        if found is None:
            return xf.not_found()
        return self._write(
            request, "Items", lambda raw: books.save_item({**raw, "ItemID": found["ItemID"]}, False)
        )

    # -- contacts ---------------------------------------------------------------------------------------
    def contacts(self, request: Request, books: Books) -> Response:
        if request.method != "GET":
            return self._write(
                request, "Contacts", lambda raw: books.save_contact(raw, request.method == "PUT")
            )
        rows = list(books.ledger["contacts"].values())
        ids = {i.lower() for i in csv_param(request.args.get("IDs"))}
        if ids:
            rows = [c for c in rows if c["ContactID"] in ids]
        elif not parse_bool(request.args.get("includeArchived")):
            rows = [c for c in rows if c["ContactStatus"] != "ARCHIVED"]
        term = (request.args.get("searchTerm") or "").lower()
        if term:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
            rows = [c for c in rows if any(term in str(c.get(f, "")).lower() for f in fields)]
        return self._list(request, "Contacts", rows, "ContactID", paged=True)

    def contact(self, request: Request, books: Books, key: str) -> Response:
        found = books.ledger["contacts"].get(key)
        if found is None:
            found = next(
                (c for c in books.ledger["contacts"].values() if c.get("ContactNumber", "").lower() == key),
                None,
            )
        if request.method == "GET":
            return (
                xf.not_found()
                if found is None
                else xf.json_response(envelope("Contacts", [found], self._now()))
            )
        if found is None:
            return xf.not_found()
        return self._write(
            request, "Contacts", lambda raw: books.save_contact(raw, False, found["ContactID"])
        )

    # -- invoices ---------------------------------------------------------------------------------------
    def _invoice_view(
        self, ledger: dict[str, Any], doc: dict[str, Any], unitdp: int = 2, summary: bool = False
    ):
        view = dict(doc)
        contact = ledger["contacts"].get(doc.get("Contact", {}).get("ContactID", ""))
        if contact is not None:
            view["Contact"] = {k: contact[k] for k in ("ContactID", "Name", "ContactNumber", "EmailAddress",
                                                     "ContactStatus") if contact.get(k)}  # fmt: skip
        if summary:
            view.pop("LineItems", None)
        elif unitdp != 4:
            view["LineItems"] = [
                {**line, "UnitAmount": line["UnitAmount"].quantize(CENT)} for line in doc.get("LineItems", [])
            ]
        return view

    def _documents(self, request: Request, books: Books, kind: str) -> Response:
        store, id_field, number_field, _, _ = {
            "invoice": ("invoices", "InvoiceID", "InvoiceNumber", None, None),
            "credit_note": ("credit_notes", "CreditNoteID", "CreditNoteNumber", None, None),
        }[kind]
        key = "Invoices" if kind == "invoice" else "CreditNotes"
        if request.method != "GET":
            create_only = request.method == "PUT"
            return self._write(request, key, lambda raw: books.save_document(kind, raw, create_only))
        rows = list(books.ledger[store].values())
        ids = {i.lower() for i in csv_param(request.args.get("IDs"))}
        numbers = set(csv_param(request.args.get(f"{number_field}s")))
        contact_ids = {i.lower() for i in csv_param(request.args.get("ContactIDs"))}
        statuses = {s.upper() for s in csv_param(request.args.get("Statuses"))}
        if ids:
            rows = [r for r in rows if r[id_field] in ids]
        if numbers:
            rows = [r for r in rows if r.get(number_field) in numbers]
        if contact_ids:
            rows = [r for r in rows if r["Contact"]["ContactID"] in contact_ids]
        if statuses:
            rows = [r for r in rows if r["Status"] in statuses]
        if parse_bool(request.args.get("createdByMyApp")):
            rows = [r for r in rows if r.get("_client_id") == books.client_id]
        unitdp = 4 if request.args.get("unitdp") == "4" else 2
        summary = parse_bool(request.args.get("summaryOnly"))
        return self._list(
            request, key, rows, id_field, paged=True,
            view=lambda d: self._invoice_view(books.ledger, d, unitdp, summary),
        )  # fmt: skip

    def _document(self, request: Request, books: Books, kind: str, key: str) -> Response:
        envelope_key = "Invoices" if kind == "invoice" else "CreditNotes"
        if request.method == "GET":
            found = books.find_document(kind, key)
            # Paths are lower-cased for matching; numbers are matched case-sensitively on the original.
            if found is None:
                original = request.path.rsplit("/", 1)[-1]
                found = books.find_document(kind, original)
            if found is None:
                return xf.not_found()
            unitdp = 4 if request.args.get("unitdp") == "4" else 2
            view = self._invoice_view(books.ledger, found, unitdp)
            return xf.json_response(envelope(envelope_key, [view], self._now()))
        original = request.path.rsplit("/", 1)[-1]
        return self._write(
            request, envelope_key, lambda raw: books.save_document(kind, raw, False, original), many=False
        )

    def invoices(self, request: Request, books: Books) -> Response:
        return self._documents(request, books, "invoice")

    def invoice(self, request: Request, books: Books, key: str) -> Response:
        return self._document(request, books, "invoice", key)

    def credit_notes(self, request: Request, books: Books) -> Response:
        return self._documents(request, books, "credit_note")

    def credit_note(self, request: Request, books: Books, key: str) -> Response:
        return self._document(request, books, "credit_note", key)

    def allocate(self, request: Request, books: Books, key: str) -> Response:
        return self._write(request, "Allocations", lambda raw: books.allocate(key, raw))

    def unallocate(self, request: Request, books: Books, key: str, allocation_id: str) -> Response:
        view = books.delete_allocation(key, allocation_id)
        if view is None:
            return xf.not_found()
        return xf.json_response(render(view))  # the spec's DELETE answers a bare Allocation

    # -- payments ---------------------------------------------------------------------------------------
    def payments(self, request: Request, books: Books) -> Response:
        if request.method != "GET":
            return self._write(request, "Payments", books.save_payment)
        rows = list(books.ledger["payments"].values())
        return self._list(request, "Payments", rows, "PaymentID", paged=True, view=books.payment_view)

    def payment(self, request: Request, books: Books, key: str) -> Response:
        found = books.ledger["payments"].get(key)
        if request.method == "GET":
            if found is None:
                return xf.not_found()
            return xf.json_response(envelope("Payments", [books.payment_view(found)], self._now()))
        if found is None:
            return xf.not_found()
        return self._write(request, "Payments", lambda raw: books.delete_payment(key, raw), many=False)
