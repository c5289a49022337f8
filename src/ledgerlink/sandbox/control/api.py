"""The /_sandbox control API (not part of any ledger): apps, tenants, consent without a browser, ledger
reads, request logs, fault rules, the clock, token switches and reset. JSON in and out; every path except
``/_sandbox/health`` and the read-only tenant pages needs the ``X-Sandbox-Token`` header. Never a query
parameter: URLs land in access logs, browser history and Referer headers."""

from __future__ import annotations

import fnmatch
import hmac
import html
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import FaultRuleError
from .grants import pkce_s256
from .state import LoggedRequest

if TYPE_CHECKING:
    from .plane import ControlPlane


class ControlError(Exception):
    """A refused control request: rendered as ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, content_type="application/json")


def _body(request: Request) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise ControlError("body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ControlError(f"{name} must be a non-empty list of strings")
    return value


class ControlAPI:
    """Routes /_sandbox/* for one control plane."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.routes: dict[str, Callable[..., Response]] = {
            "health": self.health,
            "index": self.index,
            "create_app": self.create_app,
            "create_tenant": self.create_tenant,
            "list_tenants": self.list_tenants,
            "reset_tenant": self.reset_tenant,
            "set_limits": self.set_limits,
            "windows": self.windows,
            "update_settings": self.update_settings,
            "delete_tenant": self.delete_tenant,
            "consent": self.consent,
            "ledger": self.ledger,
            "requests": self.requests,
            "count": self.count,
            "page": self.page,
            "add_faults": self.add_faults,
            "list_faults": self.list_faults,
            "clear_faults": self.clear_faults,
            "clock": self.clock,
            "advance_clock": self.advance_clock,
            "expire_tokens": self.expire_tokens,
            "revoke_tokens": self.revoke_tokens,
            "reset": self.reset,
        }
        self.map = Map(
            [
                Rule("/_sandbox/health", endpoint="health", methods=["GET"]),
                Rule("/_sandbox", endpoint="index", methods=["GET"]),
                Rule("/_sandbox/apps", endpoint="create_app", methods=["POST"]),
                Rule("/_sandbox/tenants", endpoint="create_tenant", methods=["POST"]),
                Rule("/_sandbox/tenants", endpoint="list_tenants", methods=["GET"]),
                Rule("/_sandbox/tenants/<tenant_id>", endpoint="page", methods=["GET"]),
                Rule("/_sandbox/tenants/<tenant_id>/reset", endpoint="reset_tenant", methods=["POST"]),
                Rule("/_sandbox/tenants/<tenant_id>", endpoint="delete_tenant", methods=["DELETE"]),
                Rule("/_sandbox/tenants/<tenant_id>/limits", endpoint="set_limits", methods=["POST"]),
                Rule("/_sandbox/tenants/<tenant_id>/windows", endpoint="windows", methods=["GET"]),
                Rule("/_sandbox/tenants/<tenant_id>/settings", endpoint="update_settings", methods=["POST"]),
                Rule("/_sandbox/tenants/<tenant_id>/ledger", endpoint="ledger", methods=["GET"]),
                Rule("/_sandbox/tenants/<tenant_id>/requests", endpoint="requests", methods=["GET"]),
                Rule("/_sandbox/tenants/<tenant_id>/requests/count", endpoint="count", methods=["GET"]),
                Rule("/_sandbox/requests", endpoint="requests", methods=["GET"]),
                Rule("/_sandbox/requests/count", endpoint="count", methods=["GET"]),
                Rule("/_sandbox/consent", endpoint="consent", methods=["POST"]),
                Rule("/_sandbox/faults", endpoint="add_faults", methods=["POST"]),
                Rule("/_sandbox/faults", endpoint="list_faults", methods=["GET"]),
                Rule("/_sandbox/faults", endpoint="clear_faults", methods=["DELETE"]),
                Rule("/_sandbox/clock", endpoint="clock", methods=["GET"]),
                Rule("/_sandbox/clock", endpoint="advance_clock", methods=["POST"]),
                Rule("/_sandbox/tokens/expire", endpoint="expire_tokens", methods=["POST"]),
                Rule("/_sandbox/tokens/revoke", endpoint="revoke_tokens", methods=["POST"]),
                Rule("/_sandbox/reset", endpoint="reset", methods=["POST"]),
            ],
            strict_slashes=False,
        )

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("X-Sandbox-Token") or ""
        return hmac.compare_digest(given.encode(), self.plane.control_token.encode())

    def handle(self, request: Request) -> Response:
        adapter = self.map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            return _json({"error": exc.name}, exc.code or 404)
        open_endpoints = {"health"} | ({"page", "index"} if request.method == "GET" else set())
        if endpoint not in open_endpoints and not self._authorised(request):
            return _json({"error": "missing or wrong X-Sandbox-Token"}, 401)
        try:
            return self.routes[endpoint](request, **values)
        except ControlError as exc:
            return _json({"error": str(exc)}, exc.status)

    def _tenant(self, tenant_id: str) -> dict[str, Any]:
        tenant = self.plane.store.tenants.get(tenant_id)
        if tenant is None:
            raise ControlError("no such tenant", 404)
        return tenant

    # -- endpoints --------------------------------------------------------------------------------------
    def health(self, request: Request) -> Response:
        return _json({"ok": True, "provider": self.plane.provider.name, "time_scale": self.plane.clock.scale})

    def create_app(self, request: Request) -> Response:
        body = _body(request)
        uris = _str_list(body, "redirect_uris")
        tier = str(body.get("tier") or "")
        try:
            self.plane.provider.tier_limits(tier)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        app = self.plane.grants.create_app(
            uris,
            str(body.get("name") or "LedgerLink test app"),
            bool(body.get("granular_only", False)),
            tier,
            bool(body.get("certified", True)),
        )
        self.plane.apply_tier(app)
        fields = ("client_id", "client_secret", "redirect_uris", "granular_only", "tier", "certified")
        return _json({k: app[k] for k in fields}, 201)

    def _limits(self, raw: Any) -> dict[str, int]:
        if raw is None:
            return {}
        fields = self.plane.limiter.fields
        if not isinstance(raw, dict) or not set(raw) <= fields:
            raise ControlError(f"limits may set only {sorted(fields)}")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in raw.values()):
            raise ControlError("limits must be positive integers")
        return dict(raw)

    def _settings(self, settings: Any) -> dict[str, Any]:
        if not isinstance(settings, dict):
            raise ControlError("settings must be an object")
        error = self.plane.provider.settings_error(settings)
        if error:
            raise ControlError(error)
        return settings

    def create_tenant(self, request: Request) -> Response:
        body = _body(request)
        region = str(body.get("region", "")).upper()
        if region not in self.plane.provider.regions:
            raise ControlError(f"region must be one of {', '.join(self.plane.provider.regions)}")
        name = str(body.get("name") or f"Sandbox {region} Solar Pty")
        settings = self._settings(body.get("settings") or {})
        tenant_id = self.plane.provider.new_tenant_id()
        now = self.plane.clock.now()
        tenant: dict[str, Any] = {
            "tenant_id": tenant_id,
            "region": region,
            "name": name,
            "created_at": now,
            "limits": self._limits(body.get("limits")),
            "ledger": self.plane.provider.new_ledger(region, name, tenant_id, now),
        }
        tenant["ledger"]["settings"] = settings
        self.plane.provider.apply_settings(tenant["ledger"])
        with self.plane.store.lock:
            self.plane.store.tenants[tenant_id] = tenant
            self.plane.apply_limits(tenant)
            self.plane.store.save()
        return _json({"tenant_id": tenant_id, "region": region, "name": name}, 201)

    def list_tenants(self, request: Request) -> Response:
        with self.plane.store.lock:
            tenants = [
                {"tenant_id": t["tenant_id"], "region": t["region"], "name": t["name"]}
                for t in self.plane.store.tenants.values()
            ]
        return _json({"tenants": tenants})

    def reset_tenant(self, request: Request, tenant_id: str) -> Response:
        """Re-seed a tenant's books (same id, connections kept)."""
        with self.plane.store.lock:
            tenant = self._tenant(tenant_id)
            settings = tenant["ledger"].get("settings", {})
            tenant["ledger"] = self.plane.provider.new_ledger(
                tenant["region"], tenant["name"], tenant_id, self.plane.clock.now()
            )
            tenant["ledger"]["settings"] = settings
            self.plane.provider.apply_settings(tenant["ledger"])
            self.plane.store.save()
        return _json({"tenant_id": tenant_id, "reset": True})

    def update_settings(self, request: Request, tenant_id: str) -> Response:
        """Merge ledger settings (e.g. a lock date) into a tenant."""
        changes = self._settings(_body(request))
        with self.plane.store.lock:
            tenant = self._tenant(tenant_id)
            settings = tenant["ledger"].setdefault("settings", {})
            settings.update(changes)
            self.plane.provider.apply_settings(tenant["ledger"])
            self.plane.store.save()
            return _json({"tenant_id": tenant_id, "settings": settings})

    def delete_tenant(self, request: Request, tenant_id: str) -> Response:
        """Remove an organisation, as when it is deleted or its trial ends: its connections answer 403."""
        with self.plane.store.lock:
            self._tenant(tenant_id)
            del self.plane.store.tenants[tenant_id]
            self.plane.store.save()
        return _json({"tenant_id": tenant_id, "deleted": True})

    def set_limits(self, request: Request, tenant_id: str) -> Response:
        with self.plane.store.lock:
            tenant = self._tenant(tenant_id)
            tenant["limits"] = self._limits(_body(request))
            self.plane.apply_limits(tenant)
            self.plane.store.save()
        return _json({"tenant_id": tenant_id, "limits": tenant["limits"]})

    def windows(self, request: Request, tenant_id: str) -> Response:
        """The tenant's rate windows as the app `client_id` sees them: used, size, seconds to the reset."""
        self._tenant(tenant_id)
        client_id = request.args.get("client_id", "")
        if client_id not in self.plane.store.apps:
            raise ControlError("unknown client_id", 404)
        return _json({"tenant_id": tenant_id, "windows": self.plane.limiter.windows(client_id, tenant_id)})

    def consent(self, request: Request) -> Response:
        """Mint an authorization code as if a user had ticked ``tenant_ids`` on the consent page."""
        body = _body(request)
        app = self.plane.store.apps.get(str(body.get("client_id")))
        if app is None:
            raise ControlError("unknown client_id", 404)
        tenant_ids = _str_list(body, "tenant_ids")
        missing = [t for t in tenant_ids if t not in self.plane.store.tenants]
        if missing:
            raise ControlError(f"unknown tenant_ids: {missing}", 404)
        redirect_uri = str(body.get("redirect_uri") or app["redirect_uris"][0])
        if redirect_uri not in app["redirect_uris"]:
            raise ControlError("redirect_uri is not registered for this app")
        scope = str(body.get("scope") or "")
        error = self.plane.provider.scope_error(app, scope)
        if error:
            raise ControlError(error)
        refused = self.plane.provider.consent_error(app, tenant_ids)
        if refused:
            raise ControlError(refused)
        challenge = body.get("code_challenge")
        if body.get("code_verifier"):
            challenge = pkce_s256(str(body["code_verifier"]))
        code = self.plane.grants.issue_code(
            app["client_id"], redirect_uri, scope, tenant_ids, body.get("user_id"), challenge
        )
        params = {"code": code, **self.plane.provider.redirect_params(scope, tenant_ids)}
        if body.get("state") is not None:
            params["state"] = str(body["state"])
        return _json(
            {"code": code, "state": body.get("state"), "redirect_url": f"{redirect_uri}?{urlencode(params)}"}
        )

    def ledger(self, request: Request, tenant_id: str) -> Response:
        with self.plane.store.lock:
            return _json(self.plane.provider.ledger_view(self._tenant(tenant_id)))

    def _filtered(self, request: Request, tenant_id: str | None) -> list[LoggedRequest]:
        """The request log, by tenant (or all of it), then ?since=&method=&path=&status=&client_id=."""
        if tenant_id is not None:
            self._tenant(tenant_id)
        rows = self.plane.store.requests(tenant_id=tenant_id, client_id=request.args.get("client_id"))
        since = request.args.get("since", type=int)
        method = request.args.get("method")
        path = request.args.get("path")
        status = request.args.get("status", type=int)
        return [
            r
            for r in rows
            if (since is None or r.seq > since)
            and (method is None or r.method.upper() == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path.lower(), path.lower()))
            and (status is None or r.status == status)
        ]

    def requests(self, request: Request, tenant_id: str | None = None) -> Response:
        return _json({"requests": [asdict(r) for r in self._filtered(request, tenant_id)]})

    def count(self, request: Request, tenant_id: str | None = None) -> Response:
        return _json({"count": len(self._filtered(request, tenant_id))})

    def page(self, request: Request, tenant_id: str) -> Response:
        with self.plane.store.lock:
            tenant = self.plane.store.tenants.get(tenant_id)
            if tenant is None:
                return Response("No such tenant", 404, content_type="text/plain")
            markup = self.plane.provider.tenant_page(tenant)
        return Response(markup, content_type="text/html; charset=utf-8")

    def index(self, request: Request) -> Response:
        with self.plane.store.lock:
            items = "".join(
                f'<li><a href="/_sandbox/tenants/{t["tenant_id"]}">{html.escape(t["name"])}</a>'
                f" ({t['region']})</li>"
                for t in self.plane.store.tenants.values()
            )
        title = f"{self.plane.provider.name.title()} sandbox"
        return Response(
            f"<!doctype html><title>{title}</title><h1>{title}</h1><ul>{items}</ul>",
            content_type="text/html; charset=utf-8",
        )

    def add_faults(self, request: Request) -> Response:
        body = _body(request)
        raw_rules = body.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise ControlError("rules must be a non-empty list")
        try:
            rules = [self.plane.faults.add(raw) for raw in raw_rules]
        except FaultRuleError as exc:
            raise ControlError(str(exc)) from None
        return _json({"rules": [r.as_json() for r in rules]}, 201)

    def list_faults(self, request: Request) -> Response:
        return _json({"rules": [r.as_json() for r in self.plane.faults.rules()]})

    def clear_faults(self, request: Request) -> Response:
        self.plane.faults.clear()
        return _json({"rules": []})

    def _clock_json(self) -> dict[str, Any]:
        now = self.plane.clock.now()
        return {
            "now": now,
            "now_iso": datetime.fromtimestamp(now, UTC).isoformat(),
            "scale": self.plane.clock.scale,
        }

    def clock(self, request: Request) -> Response:
        return _json(self._clock_json())

    def advance_clock(self, request: Request) -> Response:
        seconds = _body(request).get("advance_s")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ControlError("advance_s must be a non-negative number of sandbox seconds")
        self.plane.clock.advance(float(seconds))
        self.plane.store.save()
        return _json(self._clock_json())

    def expire_tokens(self, request: Request) -> Response:
        body = _body(request)
        count = self.plane.grants.expire_access_tokens(body.get("client_id"), body.get("tenant_id"))
        return _json({"grants": count})

    def revoke_tokens(self, request: Request) -> Response:
        body = _body(request)
        count = self.plane.grants.revoke(body.get("client_id"), body.get("tenant_id"))
        return _json({"grants": count})

    def reset(self, request: Request) -> Response:
        self.plane.reset()
        return _json({"reset": True})
