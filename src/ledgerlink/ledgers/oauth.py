"""The OAuth 2.0 flow every ledger shares (allauth-style: a provider gives its `OAuthConfig` and a few calls).

- connect (POST, admins only): asks `connect_requested` receivers (billing may refuse), creates a single-use
  `OAuthState` with PKCE S256 bound to this browser session, and redirects to the ledger.
- callback: checks the state (known, unused, unexpired, same session and user), exchanges the code, lists
  tenants; one tenant connects at once, several go to a picker.
- tenant picker (GET form, CSRF-protected POST).
Token-endpoint errors are read here as RFC 6749 defines them; `invalid_grant` means the grant is gone.
"""

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
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.errors import LedgerError, Reconnect, Retry
from ledgerlink.ledgers.models import OAuthState, provider_name

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


class OAuthProvider(Protocol):
    """What the shared views need from a ledger's oauth.py."""

    key: str

    def __init__(self, organisation_id: str = "") -> None: ...

    @staticmethod
    def config() -> OAuthConfig: ...

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> TokenSet: ...

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def tenants(self, access_token: str) -> list[Tenant]: ...

    def disconnect(self, access_token: str, remote_connection_id: str, refresh_token: str) -> None: ...


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 86 URL-safe characters, inside the 43-128 Xero allows (xero.md 1)."""
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
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{config.authorize_url}?{urlencode(query)}"


def _token_error(status: int, body: Any, provider: str) -> LedgerError:
    code = str(body.get("error", "")) if isinstance(body, Mapping) else ""
    name = provider_name(provider)
    if code == "invalid_grant":
        return Reconnect(f"{name} no longer accepts this connection's sign-in. Reconnect {name}.", code=code)
    if code in ("invalid_client", "unauthorized_client"):
        # LedgerLink's own app credentials: no user action helps; the operator must fix the settings.
        return Retry(f"{name} refused LedgerLink's app credentials.", after_s=900, code=code, status=status)
    # 5xx, 429 and anything unexpected: a lost refresh answer is covered by Xero's 30-minute grace on the
    # old refresh token (xero.md 1), so trying again later is safe.
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
    exchange = http.send(
        context,
        "POST",
        config.revoke_url,
        form={"token": token},
        auth=(config.client_id, config.client_secret),
    )
    if exchange.status not in (200, 204):
        raise _token_error(exchange.status, exchange.json(), config.provider)


# --- Views ----------------------------------------------------------------------------------------------

SESSION_PREFIX = "ledgers.oauth."


def _provider(key: str) -> type[OAuthProvider]:
    from ledgerlink.ledgers.registry import OAUTH_PROVIDERS  # the registry imports the providers' modules

    if key not in OAUTH_PROVIDERS:
        raise Http404("No such ledger.")
    return OAUTH_PROVIDERS[key]


def redirect_uri(provider: str) -> str:
    """The callback URL registered with the ledger's app (absolute, from LEDGERLINK_PUBLIC_URL)."""
    return f"{settings.PUBLIC_URL}{reverse('ledgers:callback', args=[provider])}"


def _binding(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def page(request: HttpRequest, title: str, message: str, status: int = 200, **context: Any) -> HttpResponse:
    return render(
        request, "ledgers/page.html", {"title": title, "message": message, **context}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, provider: str) -> HttpResponse:
    """GET: the organisations this admin may connect. POST: start the authorisation."""
    from ledgerlink.ledgers import connections

    oauth = _provider(provider)
    name = provider_name(provider)
    if request.method == "GET":
        organisations = connections.admin_organisations(request.user)
        return render(
            request,
            "ledgers/connect.html",
            {"provider": provider, "name": name, "organisations": organisations},
        )
    organisation = connections.admin_organisation(request.user, request.POST.get("organisation", ""))
    if organisation is None:
        return page(
            request,
            f"Connect {name}",
            "Only an administrator of the organisation can connect a ledger.",
            status=403,
        )
    refusal = connections.connect_refusal(organisation, request.user, provider)
    if refusal:
        return page(request, f"Connect {name}", refusal, status=409)
    connections.purge_expired_states()  # abandoned attempts may hold tokens: keep none past 10 minutes
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(32)
    state = OAuthState.objects.create(
        state=secrets.token_urlsafe(32),
        code_verifier=verifier,
        session_binding=_binding(nonce),
        organisation=organisation,
        user=request.user,
        provider=provider,
    )
    request.session[SESSION_PREFIX + state.state] = nonce
    return HttpResponseRedirect(authorize_url(oauth.config(), state.state, challenge, redirect_uri(provider)))


def _held_by(request: HttpRequest, state: OAuthState | None, nonce: str | None) -> bool:
    """The state was started in this browser session, by this user, and has not expired."""
    return bool(
        nonce
        and state is not None
        and secrets.compare_digest(state.session_binding, _binding(nonce))
        and state.user_id == request.user.pk
        and not state.expired()
    )


def _claim_state(request: HttpRequest, provider: str, state_value: str) -> OAuthState | None:
    """The state row if this session started it and it was never used; marks it used (single use)."""
    nonce = request.session.pop(SESSION_PREFIX + state_value, None)
    state = OAuthState.objects.filter(state=state_value, provider=provider).first()
    if not _held_by(request, state, nonce):
        return None
    # Single use even under a double-submitted callback: only one UPDATE can flip used_at.
    claimed = OAuthState.objects.filter(pk=state.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not claimed:
        return None
    request.session[SESSION_PREFIX + "pick." + state.state] = nonce
    return state


@login_required
@require_GET
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The ledger sends the browser back here with `code` and `state` (or `error`)."""
    from ledgerlink.ledgers import connections

    oauth_class = _provider(provider)
    name = provider_name(provider)
    state = _claim_state(request, provider, request.GET.get("state", ""))
    if state is None:
        return page(
            request,
            f"Connect {name}",
            "This sign-in link is not valid any more (used, expired or "
            "started elsewhere). Start again from Connect.",
            status=400,
        )
    # The usage meter credits this callback (exempt connector traffic) to the organisation it is for.
    request.ledgerlink_organisation = state.organisation  # type: ignore[attr-defined]
    if request.GET.get("error") or not request.GET.get("code"):
        return page(
            request, f"Connect {name}", f"{name} did not grant access, so nothing was connected.", status=400
        )
    oauth = oauth_class(str(state.organisation_id))
    try:
        tokens = oauth.exchange_code(request.GET["code"], state.code_verifier, redirect_uri(provider))
        tenants = oauth.tenants(tokens.access_token)
    except LedgerError as exc:
        return page(request, f"Connect {name}", exc.message, status=502)
    if not tenants:
        return page(request, f"Connect {name}", f"No {name} organisation was authorised.", status=400)
    if len(tenants) == 1:
        return connections.finish_connect(request, state, tokens, tenants[0])
    connections.hold_tokens(state, tokens, tenants)
    return HttpResponseRedirect(reverse("ledgers:tenants", args=[provider, state.state]))


@login_required
@require_http_methods(["GET", "POST"])
def pick_tenant(request: HttpRequest, provider: str, state_value: str) -> HttpResponse:
    """Several tenants were authorised: the user picks the one this organisation keeps its books in."""
    from ledgerlink.ledgers import connections

    _provider(provider)
    name = provider_name(provider)
    nonce = request.session.get(SESSION_PREFIX + "pick." + state_value)
    state = OAuthState.objects.filter(state=state_value, provider=provider, used_at__isnull=False).first()
    if not _held_by(request, state, nonce) or not state.access_token:
        return page(
            request,
            f"Connect {name}",
            "This choice is not valid any more. Start again from Connect.",
            status=400,
        )
    tenants = [Tenant(**t) for t in state.tenants]
    if request.method == "GET":
        return render(
            request,
            "ledgers/tenants.html",
            {
                "title": "Choose an organisation",
                "provider": provider,
                "name": name,
                "tenants": tenants,
                "state": state.state,
            },
        )
    chosen = next((t for t in tenants if t.id == request.POST.get("tenant_id")), None)
    if chosen is None:
        return render(
            request,
            "ledgers/tenants.html",
            {
                "provider": provider,
                "name": name,
                "tenants": tenants,
                "state": state.state,
                "error": "Pick one organisation.",
            },
            status=400,
        )
    del request.session[SESSION_PREFIX + "pick." + state_value]
    tokens = connections.held_tokens(state)
    organisation_id = str(state.organisation_id)
    response = connections.finish_connect(request, state, tokens, chosen)
    if response.status_code == 200:
        connections.release_unpicked(provider, organisation_id, tokens, [t for t in tenants if t != chosen])
    return response
