"""Identity rules (xero.md §1, §10 items 1-6): codes, PKCE, rotation with grace, expiry, revocation,
tenants, scopes, connections, consent page, JWT access tokens."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests

from ledgerlink.devtools.sandboxes import SandboxError

from .conftest import FULL_SCOPE, REDIRECT, Xero, connect


def _exchange(sandbox, app, code: str, **extra: str) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return requests.post(
        sandbox.base_url + "/connect/token", data=data, auth=(app.client_id, app.client_secret)
    )


def _code(sandbox, app, tenant: str, scope: str = FULL_SCOPE, **kwargs) -> str:
    return sandbox.control.consent(app.client_id, [tenant], scope, redirect_uri=REDIRECT, **kwargs)


@pytest.fixture
def setup(sandbox):
    app = sandbox.control.create_app([REDIRECT])
    return sandbox, app, sandbox.control.create_tenant("AU")


def test_code_is_single_use(setup) -> None:
    sandbox, app, tenant = setup
    code = _code(sandbox, app, tenant)
    assert _exchange(sandbox, app, code).status_code == 200
    again = _exchange(sandbox, app, code)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


def test_code_expires_after_five_minutes(setup) -> None:
    sandbox, app, tenant = setup
    fresh, stale = _code(sandbox, app, tenant), _code(sandbox, app, tenant)
    assert _exchange(sandbox, app, fresh).status_code == 200
    sandbox.control.advance_clock(301)
    assert _exchange(sandbox, app, stale).json() == {"error": "invalid_grant"}


def test_code_needs_the_same_redirect_uri_and_client(setup) -> None:
    sandbox, app, tenant = setup
    other = sandbox.control.create_app([REDIRECT])
    code = _code(sandbox, app, tenant)
    assert _exchange(sandbox, other, code).json() == {"error": "invalid_grant"}
    wrong_uri = requests.post(
        sandbox.base_url + "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/elsewhere"},
        auth=(app.client_id, app.client_secret),
    )
    assert wrong_uri.json() == {"error": "invalid_grant"}


def test_pkce_s256(setup) -> None:
    sandbox, app, tenant = setup
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    wrong = _code(sandbox, app, tenant, code_challenge=challenge)
    public = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "client_id": app.client_id}
    url = sandbox.base_url + "/connect/token"
    bad = requests.post(url, data={**public, "code": wrong, "code_verifier": secrets.token_urlsafe(48)})
    assert bad.json() == {"error": "invalid_grant"}
    missing = requests.post(
        url, data={**public, "code": _code(sandbox, app, tenant, code_challenge=challenge)}
    )
    assert missing.json() == {"error": "invalid_grant"}
    good = requests.post(
        url,
        data={
            **public,
            "code": _code(sandbox, app, tenant, code_challenge=challenge),
            "code_verifier": verifier,
        },
    )
    assert good.status_code == 200, good.text
    refreshed = requests.post(
        url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": good.json()["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 200


def test_client_auth_basic_or_body_and_errors(setup) -> None:
    sandbox, app, tenant = setup
    url = sandbox.base_url + "/connect/token"
    body_auth = requests.post(
        url,
        data={
            "grant_type": "authorization_code",
            "code": _code(sandbox, app, tenant),
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert body_auth.status_code == 200
    bad_secret = requests.post(url, data={"grant_type": "refresh_token"}, auth=(app.client_id, "nope"))
    assert bad_secret.json() == {"error": "invalid_client"}
    unsupported = requests.post(url, data={"grant_type": "password"}, auth=(app.client_id, app.client_secret))
    assert unsupported.json() == {"error": "unsupported_grant_type"}
    no_secret = requests.post(
        url,
        data={
            "grant_type": "authorization_code",
            "code": _code(sandbox, app, tenant),
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
        },
    )
    assert no_secret.json() == {"error": "invalid_client"}


def test_token_response_keys_and_jwt_claims(xero: Xero) -> None:
    tokens = xero.tokens
    assert list(tokens) == ["id_token", "access_token", "expires_in", "token_type", "refresh_token", "scope"]
    assert (tokens["expires_in"], tokens["token_type"], tokens["scope"]) == (1800, "Bearer", FULL_SCOPE)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert {"exp", "nbf", "iss", "client_id", "xero_userid", "authentication_event_id", "scope"} <= set(
        claims
    )
    assert claims["client_id"] == xero.app.client_id
    assert claims["exp"] - claims["nbf"] == 1800
    assert abs(claims["nbf"] - time.time()) < 5
    assert claims["scope"] == FULL_SCOPE.split()
    jwks = requests.get(xero.sandbox.base_url + "/.well-known/openid-configuration/jwks").json()
    key = jwt.PyJWK(jwks["keys"][0])
    jwt.decode(tokens["access_token"], key.key, algorithms=["RS256"], options={"verify_aud": False})


def test_jwt_exp_follows_the_time_scale(scaled_sandbox) -> None:
    connected = connect(scaled_sandbox)
    claims = jwt.decode(connected.tokens["access_token"], options={"verify_signature": False})
    assert connected.tokens["expires_in"] == 30
    assert claims["exp"] - claims["nbf"] == 30  # 1800 sandbox seconds at 60x


def test_refresh_rotates_with_a_grace_period(xero: Xero) -> None:
    first = xero.tokens["refresh_token"]
    rotated = xero.refresh(first).json()
    assert rotated["refresh_token"] != first
    assert set(rotated) == set(xero.tokens)
    # The lost-response case: the old token still works, any number of times within the grace.
    assert xero.refresh(first).status_code == 200
    latest = xero.refresh(first).json()["refresh_token"]
    xero.sandbox.control.advance_clock(1801)
    late = xero.refresh(first)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})
    assert xero.refresh(rotated["refresh_token"]).json() == {"error": "invalid_grant"}
    assert xero.refresh(latest).status_code == 200


def test_refresh_token_idles_out_after_sixty_days(xero: Xero) -> None:
    xero.sandbox.control.advance_clock(60 * 86400)
    assert xero.refresh().json() == {"error": "invalid_grant"}


def test_access_token_expires_after_thirty_minutes(xero: Xero) -> None:
    assert xero.get("/Organisation").status_code == 200
    xero.sandbox.control.advance_clock(1801)
    expired = xero.get("/Organisation")
    assert expired.status_code == 401
    assert re.fullmatch(
        r"TokenExpired: token expired at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d", expired.json()["Detail"]
    )
    xero.tokens = xero.refresh().json()
    assert xero.get("/Organisation").status_code == 200


def test_tenant_header_rules(xero: Xero) -> None:
    other_tenant = xero.sandbox.control.create_tenant("UK")
    for tenant in ("", "not-a-tenant", other_tenant):
        response = xero.get("/Organisation", headers={"xero-tenant-id": tenant})
        assert response.status_code == 403
        assert response.json()["Detail"] == "AuthenticationUnsuccessful"
    bogus = xero.call("GET", "/Organisation", headers={"Authorization": "Bearer not-a-jwt"})
    assert (bogus.status_code, bogus.json()["Detail"]) == (401, "AuthorizationUnsuccessful")


def test_scopes_are_enforced(sandbox, contract) -> None:
    read_only = connect(
        sandbox, scope="offline_access accounting.settings.read accounting.contacts.read", contract=contract
    )
    assert read_only.get("/Accounts").status_code == 200
    assert read_only.get("/Contacts").status_code == 200
    for response in (read_only.get("/Invoices"), read_only.put("/Contacts", {"Contacts": [{"Name": "x"}]})):
        assert response.status_code == 401
        assert response.json()["Detail"] == "AuthorizationUnsuccessful"
        assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    granular = connect(
        sandbox, scope="offline_access accounting.invoices accounting.payments.read", contract=contract
    )
    assert granular.get("/Invoices").status_code == 200
    assert granular.get("/Items").status_code == 200
    assert granular.get("/Payments").status_code == 200
    assert granular.put("/Payments", {"Payments": []}).status_code == 401
    assert "refresh_token" not in connect(sandbox, scope="accounting.settings").tokens


def test_granular_only_app_refuses_broad_scopes(sandbox) -> None:
    app = sandbox.control.create_app([REDIRECT], granular_only=True)
    response = requests.get(
        sandbox.base_url + "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "offline_access accounting.transactions",
            "state": "s1",
        },
        allow_redirects=False,
    )
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert response.status_code == 302
    assert (query["error"], query["state"]) == (["invalid_scope"], ["s1"])


def test_browser_consent_page(sandbox) -> None:
    control = sandbox.control
    app = control.create_app([REDIRECT])
    tenant = control.create_tenant("NZ", "Kiwi Sun Ltd")
    url = sandbox.base_url + "/identity/connect/authorize"
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": FULL_SCOPE,
        "state": "abc",
    }
    page = requests.get(url, params=params)
    assert page.status_code == 200 and "Kiwi Sun Ltd" in page.text
    posted = requests.post(
        url, data={**params, "tenant_id": tenant, "decision": "allow"}, allow_redirects=False
    )
    assert posted.status_code == 302
    query = parse_qs(urlparse(posted.headers["Location"]).query)
    assert query["state"] == ["abc"]
    assert _exchange(sandbox, app, query["code"][0]).status_code == 200
    unregistered = requests.get(
        url, params={**params, "redirect_uri": "http://evil.test/"}, allow_redirects=False
    )
    assert unregistered.status_code == 400


def test_connections_listing_filter_and_delete(xero: Xero) -> None:
    sandbox = xero.sandbox
    second = sandbox.control.create_tenant("US")
    both = sandbox.control.consent(
        xero.app.client_id, [xero.tenant_id, second], FULL_SCOPE, redirect_uri=REDIRECT
    )
    tokens = _exchange(sandbox, xero.app, both).json()
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    lower = requests.get(sandbox.base_url + "/connections", headers=bearer).json()
    upper = requests.get(sandbox.base_url + "/Connections", headers=bearer).json()
    assert lower == upper
    assert {c["tenantId"] for c in lower} == {xero.tenant_id, second}
    assert {c["tenantType"] for c in lower} == {"ORGANISATION"}
    event = jwt.decode(tokens["access_token"], options={"verify_signature": False})["authentication_event_id"]
    url = sandbox.base_url + "/connections"
    assert len(requests.get(url, params={"authEventId": event}, headers=bearer).json()) == 2
    assert (
        requests.get(
            url, params={"authEventId": "00000000-0000-0000-0000-000000000000"}, headers=bearer
        ).json()
        == []
    )
    target = lower[0]["id"]
    assert requests.delete(f"{url}/{target}", headers=bearer).status_code == 204
    assert requests.delete(f"{url}/{target}", headers=bearer).status_code == 404
    assert [c["id"] for c in requests.get(url, headers=bearer).json()] == [lower[1]["id"]]


def test_revocation_kills_the_family_and_connections(xero: Xero) -> None:
    url = xero.sandbox.base_url + "/connect/revocation"
    revoked = requests.post(
        url, data={"token": xero.tokens["refresh_token"]}, auth=(xero.app.client_id, xero.app.client_secret)
    )
    assert revoked.status_code == 200
    assert xero.refresh().json() == {"error": "invalid_grant"}
    assert xero.get("/Organisation").status_code == 401
    bearer = {"Authorization": "Bearer " + xero.tokens["access_token"]}
    assert requests.get(xero.sandbox.base_url + "/connections", headers=bearer).status_code == 401


def test_starter_tier_caps_connections_and_the_day_budget(sandbox) -> None:
    control = sandbox.control
    app = control.create_app([REDIRECT], tier="starter")
    tenants = [control.create_tenant("AU") for _ in range(6)]
    code = control.consent(app.client_id, tenants[:5], FULL_SCOPE, redirect_uri=REDIRECT)
    tokens = _exchange(sandbox, app, code).json()
    with pytest.raises(SandboxError, match="limit of 5 connected organisations"):
        control.consent(app.client_id, [tenants[5]], FULL_SCOPE, redirect_uri=REDIRECT)
    org = requests.get(
        sandbox.base_url + "/api.xro/2.0/Organisation",
        headers={
            "Authorization": "Bearer " + tokens["access_token"],
            "xero-tenant-id": tenants[0],
            "Accept": "application/json",
        },
    )
    assert org.headers["X-DayLimit-Remaining"] == "999"  # Starter: 1,000 calls per organisation per day
    with pytest.raises(SandboxError, match="tier must be one of"):
        control.create_app([REDIRECT], tier="platinum")


def test_two_uncertified_apps_per_organisation(sandbox) -> None:
    control = sandbox.control
    tenant = control.create_tenant("UK")
    for _ in range(2):
        app = control.create_app([REDIRECT], certified=False)
        _exchange(sandbox, app, control.consent(app.client_id, [tenant], FULL_SCOPE, redirect_uri=REDIRECT))
    third = control.create_app([REDIRECT], certified=False)
    with pytest.raises(SandboxError, match="two uncertified apps"):
        control.consent(third.client_id, [tenant], FULL_SCOPE, redirect_uri=REDIRECT)
    certified = control.create_app([REDIRECT])
    assert control.consent(certified.client_id, [tenant], FULL_SCOPE, redirect_uri=REDIRECT)
