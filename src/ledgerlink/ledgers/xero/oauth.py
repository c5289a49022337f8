"""Xero's OAuth 2.0 side: endpoints, scopes, tenants (xero.md section 1). The flow itself (state, PKCE,
views) is shared in `ledgers/oauth.py`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.oauth import OAuthConfig, revoke_token, token_request
from ledgerlink.ledgers.xero import errors
from ledgerlink.ledgers.xero.client import CORRELATION_HEADER

# The minimal granular set for a new app (xero.md 1, "CashFlow minimal set"): broad scopes are refused for
# apps created after 2026-03-02. accounting.settings.read covers accounts, tax rates and tracking.
SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.payments",
    "accounting.contacts",
    "accounting.settings.read",
)


class XeroOAuth:
    """Code exchange, refresh, tenants and disconnect for Xero. Pure provider calls: callers save tokens."""

    key = "xero"

    def __init__(self, organisation_id: str = "") -> None:
        self._context = http.CallContext(str(organisation_id), "xero", CORRELATION_HEADER)

    @staticmethod
    def config() -> OAuthConfig:
        identity = settings.XERO_IDENTITY_URL.rstrip("/")
        return OAuthConfig(
            provider="xero",
            client_id=settings.XERO_CLIENT_ID,
            client_secret=settings.XERO_CLIENT_SECRET,
            authorize_url=settings.XERO_AUTHORIZE_URL,
            token_url=f"{identity}/connect/token",
            revoke_url=f"{identity}/connect/revocation",
            scopes=SCOPES,
        )

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        """Authorization code → tokens. Xero takes PKCE from confidential apps too, so the verifier and the
        client secret (HTTP Basic) both go."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        return token_request(self.config(), form, self._context)

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new token set; Xero rotates the refresh token every time (xero.md 1, "Token lifetimes"). Raises
        `Reconnect` on invalid_grant."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return token_request(self.config(), form, self._context)

    def tenants(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[Tenant]:
        """The organisations this grant reaches: GET /connections (bearer only, no tenant header). Xero's
        callback names no tenant, so `callback` is not read."""
        exchange = self._identity_call("GET", "/connections", access_token)
        if exchange.status != 200:
            raise errors.request_error(exchange.status, exchange.json(), exchange.headers, "connection list")
        return [_tenant(item) for item in exchange.json() or [] if item.get("tenantType") == "ORGANISATION"]

    def disconnect(self, access_token: str, remote_connection_id: str, refresh_token: str) -> None:
        """Remove the tenant connection (DELETE /connections/{id}; 404 means already gone), then revoke the
        token set. Revocation is what stops the refresh token from ever being used again."""
        if remote_connection_id:
            exchange = self._identity_call("DELETE", f"/connections/{remote_connection_id}", access_token)
            if exchange.status not in (200, 204, 404):
                raise errors.request_error(exchange.status, exchange.json(), exchange.headers, "disconnect")
        if refresh_token:
            revoke_token(self.config(), refresh_token, self._context)

    def _identity_call(self, method: str, path: str, access_token: str) -> http.HttpExchange:
        return http.send(
            self._context,
            method,
            f"{settings.XERO_API_URL.rstrip('/')}{path}",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )


def _tenant(item: dict[str, Any]) -> Tenant:
    return Tenant(
        id=str(item["tenantId"]), name=str(item.get("tenantName") or ""), connection_id=str(item["id"])
    )
