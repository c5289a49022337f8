"""Xero's identity endpoints (xero.md §1): the authorize leg with a consent page, the token endpoint
(Basic or body client auth; authorization_code and refresh_token grants), revocation, ``/connections`` and
the OpenID discovery and JWKS documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..control.authorize import ConsentScreen, authorize, basic_credentials
from ..control.gateway import Gateway
from ..control.grants import Access, AccessDenied, IssuedTokens, OAuthError
from . import faults as xf
from .wire import iso_instant

if TYPE_CHECKING:
    from ..control.plane import ControlPlane
    from .routes import XeroProvider


def token_body(tokens: IssuedTokens) -> dict[str, Any]:
    """Exactly Xero's keys, in Xero's order; any other key breaks xero-python's refresh (trap 3)."""
    body: dict[str, Any] = {}
    if tokens.id_token is not None:
        body["id_token"] = tokens.id_token
    body.update(access_token=tokens.access_token, expires_in=tokens.expires_in, token_type="Bearer")
    if tokens.refresh_token is not None:
        body["refresh_token"] = tokens.refresh_token
    body["scope"] = tokens.scope
    return body


class XeroIdentity:
    """login.xero.com, identity.xero.com and the connections endpoints of api.xero.com."""

    def __init__(self, plane: ControlPlane, gateway: Gateway, provider: XeroProvider) -> None:
        self.plane = plane
        self.gateway = gateway
        self.provider = provider
        self.screen = ConsentScreen(
            "Xero", lambda message: xf.text_response(message, 400), "Invalid scope for client"
        )
        self.map = Map(
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

    def handle(self, request: Request) -> Response:
        # xero-python calls /Connections with a capital C (real-clients.md trap 2).
        path = request.path.lower() if request.path.lower().startswith("/connections") else request.path
        try:
            endpoint, values = self.map.bind("sandbox", path_info=path).match(method=request.method)
        except HTTPException as exc:
            return xf.text_response(exc.description or "Not found", exc.code or 404)
        response: Response = getattr(self, endpoint)(request, **values)
        client_id = self._client_credentials(request)[0] if request.method == "POST" else None
        lost = self.gateway.token_endpoint_fault(request, client_id or None) if endpoint == "token" else None
        status = 0 if lost else response.status_code
        self.gateway.log(request, status, None, client_id or None, fault=lost)
        return response

    def discovery(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        return xf.json_response(
            {
                "issuer": self.plane.grants.policy.issuer,
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

    def jwks(self, request: Request) -> Response:
        return xf.json_response(self.plane.grants.jwks())

    def authorize(self, request: Request) -> Response:
        """The browser leg: validate, show the consent page, then redirect back with code and state."""
        return authorize(self.plane, request, self.screen)

    def _client_credentials(self, request: Request) -> tuple[str | None, str | None]:
        """HTTP Basic, or ``client_id``/``client_secret`` in the form (xero-python refreshes so)."""
        client_id, secret = basic_credentials(request)
        if client_id is not None:
            return client_id, secret
        return request.form.get("client_id"), request.form.get("client_secret")

    def token(self, request: Request) -> Response:
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
        return xf.json_response(token_body(tokens), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revocation(self, request: Request) -> Response:
        try:
            client_id, secret = self._client_credentials(request)
            app = self.plane.grants.authenticate_client(client_id, secret)
        except OAuthError as exc:
            return xf.json_response({"error": exc.code}, exc.status)
        self.plane.grants.revoke_refresh(app, request.form.get("token", ""))
        return Response(status=200)

    def _bearer(self, request: Request) -> Access | Response:
        access = self.gateway.bearer(request)
        return self.gateway.renderer.denied(access) if isinstance(access, AccessDenied) else access

    def connections(self, request: Request) -> Response:
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

    def disconnect(self, request: Request, connection_id: str) -> Response:
        access = self._bearer(request)
        if isinstance(access, Response):
            return access
        if not self.plane.grants.disconnect(access, connection_id):
            return xf.not_found()
        return Response(status=204)
