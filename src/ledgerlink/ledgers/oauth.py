"""The provider side of the OAuth 2.0 flow every ledger shares (allauth-style: a provider gives its
`OAuthConfig` and a few calls): PKCE, the authorize URL, the token endpoint and revocation. Token-endpoint
errors are read here as RFC 6749 defines them; `invalid_grant` means the grant is gone. The browser side
(connect, callback, tenant picker) is `oauth_views.py`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.errors import LedgerError, Reconnect, Retry
from ledgerlink.ledgers.providers import provider_name

# --- Provider side --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthConfig:
    provider: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    scopes: tuple[str, ...]
    # RFC 7009 says a form body; some ledgers' revocation endpoints take JSON {"token"} instead.
    revoke_as_json: bool = False
    # PKCE is sent unless the ledger's authorization server does not take it: a challenge bound to the
    # code with no verifier to match would fail the exchange. The state binds the flow to the browser
    # either way.
    pkce: bool = True


class OAuthProvider(Protocol):
    """What the shared views need from a ledger's oauth.py."""

    key: str

    def __init__(self, organisation_id: str = "") -> None: ...

    @staticmethod
    def config() -> OAuthConfig: ...

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet: ...

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def tenants(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[Tenant]:
        """The tenants this grant reaches. `callback` is the query the ledger sent the browser back with
        (some ledgers name the chosen tenant there rather than listing tenants at an endpoint)."""
        ...

    def disconnect(self, access_token: str, remote_connection_id: str, refresh_token: str) -> None: ...


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 86 URL-safe characters, inside the 43-128 RFC 7636 allows."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(config: OAuthConfig, state: str, challenge: str, redirect_uri: str) -> str:
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(config.scopes),
        "state": state,
    }
    if config.pkce:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{config.authorize_url}?{urlencode(query)}"


def _token_error(status: int, body: Any, provider: str) -> LedgerError:
    code = str(body.get("error", "")) if isinstance(body, Mapping) else ""
    name = provider_name(provider)
    if code == "invalid_grant":
        return Reconnect(f"{name} no longer accepts this connection's sign-in. Reconnect {name}.", code=code)
    if code in ("invalid_client", "unauthorized_client"):
        # LedgerLink's own app credentials: no user action helps; the operator must fix the settings.
        return Retry(f"{name} refused LedgerLink's app credentials.", after_s=900, code=code, status=status)
    # 5xx, 429 and anything unexpected: the ledgers keep the old refresh token valid for a while after a
    # rotation (a grace period), so a refresh whose answer was lost is safe to try again later.
    return Retry(f"{name}'s sign-in service failed; it will be tried again.", code=code or f"http_{status}")


def token_request(config: OAuthConfig, form: Mapping[str, str], context: http.CallContext) -> TokenSet:
    """POST the token endpoint with client authentication (HTTP Basic) and read the token set. Raises a
    `LedgerError` on failure; the body (which may echo a token) never goes into the error."""
    try:
        exchange = http.send(
            context,
            "POST",
            config.token_url,
            headers={"Accept": "application/json"},
            form=form,
            auth=(config.client_id, config.client_secret),
        )
    except LedgerError as exc:
        # A refresh whose answer was lost may be replayed with the same token (grace period): Retry.
        raise Retry(exc.message, code=exc.code) from exc
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, Mapping) or "access_token" not in body:
        raise _token_error(exchange.status, body, config.provider)
    return TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or form.get("refresh_token", "")),
        expires_at=timezone.now() + dt.timedelta(seconds=int(body.get("expires_in", 1800))),
        scope=str(body.get("scope", "")),
    )


def revoke_token(config: OAuthConfig, token: str, context: http.CallContext) -> None:
    """RFC 7009 revocation. Failure is reported, not fatal: the caller records it for the user."""
    as_json = config.revoke_as_json
    exchange = http.send(
        context,
        "POST",
        config.revoke_url,
        headers={"Content-Type": "application/json", "Accept": "application/json"} if as_json else None,
        content=http.json_bytes({"token": token}) if as_json else None,
        form=None if as_json else {"token": token},
        auth=(config.client_id, config.client_secret),
    )
    if exchange.status not in (200, 204):
        raise _token_error(exchange.status, exchange.json(), config.provider)


def redirect_uri(provider: str) -> str:
    """The callback URL registered with the ledger's app (absolute, from LEDGERLINK_PUBLIC_URL)."""
    return f"{settings.PUBLIC_URL}{reverse('ledgers:callback', args=[provider])}"
