"""Intuit's OAuth 2.0 and OpenID endpoints at their real paths (quickbooks.md §1.1): the discovery document
(answered as JSON whatever ``Accept`` says, since intuit-oauth sends ``*/*``), the authorize leg with a
one-company picker that redirects back with ``realmId``, the token endpoint (HTTP Basic only; 1-hour access
tokens, refresh tokens that rotate about daily, ``x_refresh_token_expires_in`` and, on request,
``x_refresh_token_hard_expires_in``), revoke (JSON body, refresh or access token), userinfo and JWKS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..control.authorize import ConsentScreen, authorize, basic_credentials
from ..control.gateway import Gateway
from ..control.grants import Access, AccessDenied, IssuedTokens, OAuthError
from .faults import json_response

if TYPE_CHECKING:
    from ..control.plane import ControlPlane
    from .routes import QuickBooksProvider

AUTHORIZE = "/connect/oauth2"
TOKEN = "/oauth2/v1/tokens/bearer"
REVOKE = "/v2/oauth2/tokens/revoke"
USERINFO = "/v1/openid_connect/userinfo"
JWKS = "/op/v1/jwks"
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"
GRANT_DESCRIPTIONS = {
    "authorization_code": "Incorrect or invalid authorization code",
    "refresh_token": "Incorrect or invalid refresh token",
}


def token_body(tokens: IssuedTokens, with_hard_expiry: bool) -> dict[str, Any]:
    """Intuit's token response keys; the hard-expiry field only for callers that ask for it (§1.2)."""
    body: dict[str, Any] = {
        "x_refresh_token_expires_in": tokens.refresh_expires_in,
        "refresh_token": tokens.refresh_token,
        "access_token": tokens.access_token,
        "token_type": "bearer",
        "expires_in": tokens.expires_in,
    }
    if with_hard_expiry:
        body["x_refresh_token_hard_expires_in"] = tokens.refresh_hard_expires_in
    return body


class QuickBooksIdentity:
    """appcenter.intuit.com, oauth.platform.intuit.com, developer.api.intuit.com and accounts.platform."""

    def __init__(self, plane: ControlPlane, gateway: Gateway, provider: QuickBooksProvider) -> None:
        self.plane = plane
        self.gateway = gateway
        self.provider = provider
        self.screen = ConsentScreen(
            "Intuit",
            lambda message: json_response(
                {"error": message.partition(":")[0], "error_description": message}, 400
            ),
            "Invalid permissions requested",
            single=True,
        )
        discovery = [
            Rule(f"/.well-known/{name}", endpoint="discovery", methods=["GET"])
            for name in ("openid_configuration", "openid_sandbox_configuration")
        ]
        self.map = Map(
            [
                *discovery,
                Rule(AUTHORIZE, endpoint="authorize", methods=["GET", "POST"]),
                Rule(TOKEN, endpoint="token", methods=["POST"]),
                Rule(REVOKE, endpoint="revoke", methods=["POST"]),
                Rule(USERINFO, endpoint="userinfo", methods=["GET"]),
                Rule(JWKS, endpoint="jwks", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self.map.bind("sandbox", path_info=request.path).match(method=request.method)
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code or 404)
        response: Response = getattr(self, endpoint)(request, **values)
        client_id = basic_credentials(request)[0] if request.method == "POST" else None
        lost = self.gateway.token_endpoint_fault(request, client_id) if endpoint == "token" else None
        self.gateway.log(request, 0 if lost else response.status_code, None, client_id, fault=lost)
        return response

    def discovery(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        return json_response(
            {
                "issuer": self.plane.grants.policy.issuer,
                "authorization_endpoint": base + AUTHORIZE,
                "token_endpoint": base + TOKEN,
                "userinfo_endpoint": base + USERINFO,
                "revocation_endpoint": base + REVOKE,
                "jwks_uri": base + JWKS,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": sorted(self.provider.known_scopes),
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            }
        )

    def jwks(self, request: Request) -> Response:
        return json_response(self.plane.grants.jwks())

    def authorize(self, request: Request) -> Response:
        """Validate, show the company picker, then redirect back with code, state and realmId."""
        return authorize(self.plane, request, self.screen)

    def _app(self, request: Request) -> dict[str, Any]:
        # Intuit's token and revoke endpoints take client credentials as HTTP Basic only.
        client_id, secret = basic_credentials(request)
        if secret is None:
            raise OAuthError("invalid_client", status=401)
        try:
            return self.plane.grants.authenticate_client(client_id, secret)
        except OAuthError:
            raise OAuthError("invalid_client", status=401) from None

    def token(self, request: Request) -> Response:
        grant_type = request.form.get("grant_type", "")
        try:
            app = self._app(request)
            if grant_type == "authorization_code":
                tokens = self.plane.grants.exchange_code(
                    app, request.form.get("code", ""), request.form.get("redirect_uri", ""), None, True
                )
            elif grant_type == "refresh_token":
                tokens = self.plane.grants.refresh(app, request.form.get("refresh_token", ""), True)
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            body = {"error": exc.code}
            description = exc.description or (
                GRANT_DESCRIPTIONS.get(grant_type, "") if exc.code == "invalid_grant" else ""
            )
            if description:
                body["error_description"] = description
            return json_response(body, exc.status, {"Cache-Control": "no-store"})
        hard = request.headers.get(HARD_EXPIRY_HEADER, "").lower() == "true"
        return json_response(
            token_body(tokens, hard), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def revoke(self, request: Request) -> Response:
        try:
            app = self._app(request)
        except OAuthError as exc:
            return json_response({"error": exc.code}, exc.status)
        try:
            token = json.loads(request.get_data() or b"{}").get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            return json_response({"error": "invalid_request"}, 400)
        self.plane.grants.revoke_refresh(app, token)
        return Response(status=200)

    def userinfo(self, request: Request) -> Response:
        """The OpenID profile of the connecting user; needs the ``openid`` scope."""
        access = self.gateway.bearer(request)
        if isinstance(access, AccessDenied):
            return self.gateway.renderer.denied(access)
        if "openid" not in access.scopes:
            return json_response({"error": "insufficient_scope"}, 403)
        return json_response(self._profile(access))

    @staticmethod
    def _profile(access: Access) -> dict[str, Any]:
        profile: dict[str, Any] = {"sub": access.user_id}
        if "email" in access.scopes:
            profile.update(email=f"user-{access.user_id[:8]}@sandbox.invalid", emailVerified=True)
        if "profile" in access.scopes:
            profile.update(givenName="Sandbox", familyName="User")
        if "phone" in access.scopes:
            profile.update(phoneNumber="+1 555 0100", phoneNumberVerified=False)
        return profile
