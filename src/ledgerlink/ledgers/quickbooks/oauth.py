"""QuickBooks Online's OAuth 2.0 side (quickbooks.md section 1): endpoints, the accounting scope, the company
(realmId) the user picked on Intuit's consent page, and revocation. The flow itself (state, PKCE, views) is
shared in `ledgers/oauth.py`."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.oauth import OAuthConfig, revoke_token, token_request
from ledgerlink.ledgers.quickbooks.client import CORRELATION_HEADER, QuickBooksClient

# Accounting only: mixing unrelated scopes can fail the consent ("Invalid permissions requested"), and the
# connector reads and writes nothing else (quickbooks.md 1.1).
SCOPES = ("com.intuit.quickbooks.accounting",)


class QuickBooksOAuth:
    """Code exchange, refresh, the company and disconnect for QuickBooks. Pure provider calls: callers save
    tokens (under the connection's row lock: refresh tokens rotate, and Intuit may revoke a grant whose
    refresh token is used twice at once)."""

    key = "quickbooks"

    def __init__(self, organisation_id: str = "") -> None:
        self._organisation_id = str(organisation_id)
        self._context = http.CallContext(self._organisation_id, "quickbooks", CORRELATION_HEADER)

    @staticmethod
    def config() -> OAuthConfig:
        return OAuthConfig(
            provider="quickbooks",
            client_id=settings.QBO_CLIENT_ID,
            client_secret=settings.QBO_CLIENT_SECRET,
            authorize_url=settings.QBO_AUTHORIZE_URL,
            token_url=settings.QBO_TOKEN_URL,
            revoke_url=settings.QBO_REVOKE_URL,
            scopes=SCOPES,
            revoke_as_json=True,
            pkce=False,
        )

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        """Authorization code → tokens (HTTP Basic client authentication). Intuit's authorization server
        does not use PKCE (`OAuthConfig.pkce`), so no verifier is sent."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return token_request(self.config(), form, self._context)

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new token set. The refresh token's value rotates about once a day and the old one is refused
        after that (quickbooks.md 1.2): the caller must store the one returned every time. Raises
        `Reconnect` on invalid_grant."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return token_request(self.config(), form, self._context)

    def tenants(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[Tenant]:
        """The one company the user picked: Intuit names it in the callback's `realmId` (there is no list of
        connections to read). Its name comes from CompanyInfo, which also proves the token reaches it."""
        realm_id = (callback or {}).get("realmId", "")
        if not realm_id:
            return []
        client = QuickBooksClient(
            access_token=access_token, realm_id=realm_id, organisation_id=self._organisation_id
        )
        body = client.get(f"/companyinfo/{realm_id}", noun="company details") or {}
        name = str((body.get("CompanyInfo") or {}).get("CompanyName") or "")
        # The realm is also the connection's id: revoking the grant is what disconnects it.
        return [Tenant(id=realm_id, name=name, connection_id=realm_id)]

    def disconnect(self, access_token: str, remote_connection_id: str, refresh_token: str) -> None:
        """Revoke the grant (Intuit's revoke takes either token and ends the whole grant, which is the
        company's connection): nothing can be refreshed or called with it again."""
        token = refresh_token or access_token
        if token:
            revoke_token(self.config(), token, self._context)
