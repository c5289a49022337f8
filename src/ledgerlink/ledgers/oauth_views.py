"""The browser side of the OAuth 2.0 flow every ledger shares (the provider side is `oauth.py`).

- connect (POST, admins only): asks `connect_requested` receivers (billing may refuse), creates a single-use
  `OAuthState` with PKCE S256 bound to this browser session, and redirects to the ledger.
- callback: checks the state (known, unused, unexpired, same session and user), exchanges the code, lists
  tenants; one tenant connects at once (and the chart loads: instant setup), several go to a picker.
- tenant picker (GET form, CSRF-protected POST).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, TypeGuard

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from ledgerlink.cashflow import access
from ledgerlink.ledgers import connections
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.ledgers.models import OAuthState, TaxRateMapping
from ledgerlink.ledgers.oauth import OAuthProvider, authorize_url, pkce_pair, redirect_uri
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.ledgers.registry import OAUTH_PROVIDERS

SESSION_PREFIX = "ledgers.oauth."


def _provider(key: str) -> type[OAuthProvider]:
    if key not in OAUTH_PROVIDERS:
        raise Http404("No such ledger.")
    return OAUTH_PROVIDERS[key]


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
    oauth = _provider(provider)
    name = provider_name(provider)
    if request.method == "GET":
        organisations = access.admin_organisations(request.user)
        return render(
            request,
            "ledgers/connect.html",
            {"provider": provider, "name": name, "organisations": organisations},
        )
    organisation = access.admin_organisation(request.user, request.POST.get("organisation", ""))
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
    assert request.user.is_authenticated  # login_required
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


def _held_by(state: OAuthState | None, request: HttpRequest, nonce: str | None) -> TypeGuard[OAuthState]:
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
    if not _held_by(state, request, nonce):
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
        tenants = oauth.tenants(tokens.access_token, {k: str(request.GET.get(k, "")) for k in request.GET})
    except LedgerError as exc:
        return page(request, f"Connect {name}", exc.message, status=502)
    if not tenants:
        return page(request, f"Connect {name}", f"No {name} organisation was authorised.", status=400)
    if len(tenants) == 1:
        return finish_connect(request, state, tokens, tenants[0])
    connections.hold_tokens(state, tokens, tenants)
    return HttpResponseRedirect(reverse("ledgers:tenants", args=[provider, state.state]))


@login_required
@require_http_methods(["GET", "POST"])
def pick_tenant(request: HttpRequest, provider: str, state_value: str) -> HttpResponse:
    """Several tenants were authorised: the user picks the one this organisation keeps its books in."""
    _provider(provider)
    name = provider_name(provider)
    nonce = request.session.get(SESSION_PREFIX + "pick." + state_value)
    state = OAuthState.objects.filter(state=state_value, provider=provider, used_at__isnull=False).first()
    if not _held_by(state, request, nonce) or not state.access_token:
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
    response = finish_connect(request, state, tokens, chosen)
    if response.status_code == 200:
        connections.release_unpicked(provider, organisation_id, tokens, [t for t in tenants if t != chosen])
    return response


def finish_connect(request: HttpRequest, state: OAuthState, tokens: TokenSet, tenant: Tenant) -> HttpResponse:
    """The end of the browser flow: connect, then load the chart at once (instant setup)."""
    name = provider_name(state.provider)
    try:
        connection = connections.complete_connection(state, tokens, tenant)
    except connections.ConnectRefused as exc:
        return render(
            request, "ledgers/page.html", {"title": f"Connect {name}", "message": str(exc)}, status=409
        )
    chart_error = ""
    snapshot = None
    try:
        snapshot = refresh_chart(connection)
    except LedgerError as exc:
        chart_error = exc.message
    # A reconnect (a mapping was saved before) leads on to the invoices that waited, not to setup again.
    mapped = TaxRateMapping.objects.filter(
        organisation_id=connection.organisation_id, provider=connection.provider
    ).exists()
    return render(
        request,
        "ledgers/connected.html",
        {
            "title": f"{name} connected",
            "connection": connection,
            "name": name,
            "snapshot": snapshot,
            "chart_error": chart_error,
            "mapped": mapped,
        },
    )
