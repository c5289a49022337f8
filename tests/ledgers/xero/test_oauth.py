"""What is Xero's own in the OAuth flow (xero.md 1): granular scopes, PKCE S256 also for a confidential app,
the rate budget Xero reports on every answer."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from ledgerlink.ledgers.errors import Reconnect
from ledgerlink.ledgers.models import OAuthState
from ledgerlink.ledgers.oauth import redirect_uri
from ledgerlink.ledgers.xero.oauth import SCOPES, XeroOAuth

from ..conftest import connect_through_views

pytestmark = pytest.mark.django_db


@pytest.fixture
def xero(harness):
    if harness.provider != "xero":
        pytest.skip("Xero only")
    return harness


def test_authorize_asks_for_the_granular_scopes_with_an_s256_challenge(admin, client, xero):
    started = client.post(reverse("ledgers:connect", args=["xero"]), {"organisation": admin[1].pk})
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["Location"]).query).items()}
    state = OAuthState.objects.get()
    digest = hashlib.sha256(state.code_verifier.encode()).digest()
    assert query == {
        "response_type": "code",
        "client_id": xero.client_id,
        "redirect_uri": redirect_uri("xero"),
        "scope": " ".join(SCOPES),
        "state": state.state,
        "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    assert 43 <= len(state.code_verifier) <= 128


def test_an_app_created_after_march_2026_can_connect_with_these_scopes(admin, client, xero, settings):
    app = xero.sandbox.control.create_app([redirect_uri("xero")], granular_only=True)
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    response = connect_through_views(client, xero, admin[1], [xero.new_tenant()])
    assert response.status_code == 200


def test_the_code_is_bound_to_the_pkce_verifier(xero):
    tenant = xero.new_tenant()
    code = xero.sandbox.control.consent(
        xero.client_id, [tenant], " ".join(SCOPES), redirect_uri("xero"), code_challenge="A" * 43
    )
    with pytest.raises(Reconnect):
        XeroOAuth().exchange_code(
            code, "a-verifier-that-does-not-match-the-challenge-at-all", redirect_uri("xero")
        )


def test_every_answer_reports_the_rate_budget(connected):
    from ledgerlink.ledgers.registry import open_ledger

    connection, _ = connected
    response = open_ledger(connection).client.request("GET", "/Accounts")
    assert response.status == 200
    assert isinstance(response.budget.minute_remaining, int) and response.budget.minute_remaining < 60
    assert isinstance(response.budget.day_remaining, int)


def test_the_browser_round_trip_through_xeros_consent_page(admin, client, xero):
    """As a browser does it: our connect form, Xero's consent page (its form, the user ticks one
    organisation and allows), the redirect back to our callback."""

    tenant = xero.new_tenant("Browser Books")
    started = client.post(reverse("ledgers:connect", args=["xero"]), {"organisation": admin[1].pk})
    consent_page = requests.get(started["Location"], timeout=10)
    assert consent_page.status_code == 200 and "Browser Books" in consent_page.text
    hidden = {
        html.unescape(k): html.unescape(v)
        for k, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', consent_page.text)
    }
    allowed = requests.post(
        started["Location"].split("?")[0],
        data={**hidden, "tenant_id": tenant, "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(allowed.headers["Location"])
    assert back.path == reverse("ledgers:callback", args=["xero"])
    done = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
    assert done.status_code == 200 and b"Browser Books" in done.content


def test_a_user_who_cancels_at_xero_connects_nothing(admin, client, xero):
    started = client.post(reverse("ledgers:connect", args=["xero"]), {"organisation": admin[1].pk})
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["Location"]).query).items()}
    denied = requests.post(
        started["Location"].split("?")[0],
        data={**query, "decision": "deny"},
        allow_redirects=False,
        timeout=10,
    )
    back = urlsplit(denied.headers["Location"])
    response = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})
    assert response.status_code == 400 and b"did not grant access" in response.content
    assert not OAuthState.objects.filter(used_at__isnull=True).exists()
