"""Intuit OAuth against the QuickBooks sandbox over HTTP (quickbooks.md §1, §10 items 1-6): discovery,
authorize with the company picker and realmId, single-use codes, token lifetimes and fields, rotation about
daily, the rolling and hard expiries, revoke, userinfo, and how the data API refuses tokens and realms."""

from __future__ import annotations

import requests

from ledgerlink.devtools.sandboxes import RunningSandbox

from .qbo import QBO, REDIRECT, SCOPE, TOKEN_PATH, assert_fault, connect

DAY = 86_400


def test_discovery_document_answers_json_to_any_accept(qbo_sandbox: RunningSandbox) -> None:
    for path in ("/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration/"):
        response = requests.get(qbo_sandbox.base_url + path, headers={"Accept": "*/*"})
        assert response.status_code == 200
        assert response.headers["intuit_tid"]
        doc = response.json()
        assert doc["issuer"] == "https://oauth.platform.intuit.com/op/v1"
        for key, path_end in (
            ("authorization_endpoint", "/connect/oauth2"),
            ("token_endpoint", "/oauth2/v1/tokens/bearer"),
            ("revocation_endpoint", "/v2/oauth2/tokens/revoke"),
            ("userinfo_endpoint", "/v1/openid_connect/userinfo"),
            ("jwks_uri", "/op/v1/jwks"),
        ):
            assert doc[key] == qbo_sandbox.base_url + path_end


def test_authorize_offers_one_company_and_redirects_with_realm(qbo_sandbox: RunningSandbox) -> None:
    control = qbo_sandbox.control
    app = control.create_app([REDIRECT])
    realm = control.create_company("AU", "Picker Pty")
    params = {"client_id": app.client_id, "response_type": "code", "scope": SCOPE, "redirect_uri": REDIRECT}
    page = requests.get(qbo_sandbox.base_url + "/connect/oauth2", params={**params, "state": "xyz"})
    assert page.status_code == 200 and f'type="radio" name="tenant_id" value="{realm}"' in page.text
    back = requests.post(
        qbo_sandbox.base_url + "/connect/oauth2",
        data={**params, "state": "xyz", "tenant_id": realm, "decision": "allow"},
        allow_redirects=False,
    )
    location = back.headers["Location"]
    assert back.status_code == 302 and location.startswith(REDIRECT + "?code=")
    assert f"realmId={realm}" in location and "state=xyz" in location
    denied = requests.get(
        qbo_sandbox.base_url + "/connect/oauth2", params={**params, "scope": "bogus"}, allow_redirects=False
    )
    assert "error=invalid_scope" in denied.headers["Location"]
    two = control.create_company("US")
    refused = requests.post(
        qbo_sandbox.base_url + "/_sandbox/consent",
        json={"client_id": app.client_id, "tenant_ids": [realm, two], "scope": SCOPE},
        headers={"X-Sandbox-Token": qbo_sandbox.token},
    )
    assert refused.status_code == 400 and "one company" in refused.json()["error"]


def test_token_response_fields_and_single_use_code(qbo_sandbox: RunningSandbox) -> None:
    control = qbo_sandbox.control
    app = control.create_app([REDIRECT])
    realm = control.create_company("US")
    code = control.consent(app.client_id, [realm], SCOPE, redirect_uri=REDIRECT)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    url = qbo_sandbox.base_url + TOKEN_PATH
    first = requests.post(url, data=form, auth=(app.client_id, app.client_secret))
    assert first.status_code == 200 and first.headers["intuit_tid"]
    body = first.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "x_refresh_token_expires_in",
    }
    assert (body["token_type"], body["expires_in"], body["x_refresh_token_expires_in"]) == (
        "bearer",
        3600,
        8_640_000,
    )
    again = requests.post(url, data=form, auth=(app.client_id, app.client_secret))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    in_body = requests.post(
        url, data={**form, "client_id": app.client_id, "client_secret": app.client_secret}
    )
    assert (in_body.status_code, in_body.json()) == (401, {"error": "invalid_client"})  # HTTP Basic only


def test_hard_expiry_field_only_on_request(qbo: QBO) -> None:
    plain = qbo.refresh()
    assert "x_refresh_token_hard_expires_in" not in plain.json()
    asked = qbo.refresh(plain.json()["refresh_token"], **{"x-include-refresh-token-hard-expires-in": "true"})
    hard = asked.json()["x_refresh_token_hard_expires_in"]
    assert 5 * 365 * DAY - 10 <= hard <= 5 * 365 * DAY


def test_refresh_token_value_rotates_after_a_day_and_the_old_one_dies(qbo: QBO) -> None:
    original = qbo.tokens["refresh_token"]
    same = qbo.refresh().json()
    assert same["refresh_token"] == original and same["access_token"] != qbo.tokens["access_token"]
    qbo.sandbox.control.advance_clock(DAY)
    rotated = qbo.refresh().json()
    assert rotated["refresh_token"] != original
    stale = qbo.refresh(original)
    assert stale.status_code == 400
    assert stale.json() == {
        "error": "invalid_grant",
        "error_description": "Incorrect or invalid refresh token",
    }
    assert qbo.refresh(rotated["refresh_token"]).status_code == 200


def test_rolling_expiry_after_100_idle_days(qbo: QBO) -> None:
    qbo.sandbox.control.advance_clock(100 * DAY)
    assert qbo.refresh().json()["error"] == "invalid_grant"


def test_hard_cap_after_five_years_whatever_the_refreshes(qbo: QBO) -> None:
    token = qbo.tokens["refresh_token"]
    for _ in range(19):  # refresh every ~96 days: the rolling expiry never lapses
        qbo.sandbox.control.advance_clock(96 * DAY)
        answer = qbo.refresh(token).json()
        token = answer["refresh_token"]
    assert answer["x_refresh_token_expires_in"] < 100 * DAY  # the cap shows: expiry no longer moves forward
    qbo.sandbox.control.advance_clock(96 * DAY)
    assert qbo.refresh(token).json()["error"] == "invalid_grant"


def test_revoke_takes_refresh_or_access_token_as_json(qbo_sandbox: RunningSandbox) -> None:
    for kind in ("refresh_token", "access_token"):
        qbo = connect(qbo_sandbox)
        revoked = requests.post(
            qbo_sandbox.base_url + "/v2/oauth2/tokens/revoke",
            json={"token": qbo.tokens[kind]},
            auth=(qbo.app.client_id, qbo.app.client_secret),
        )
        assert revoked.status_code == 200
        assert qbo.refresh().json()["error"] == "invalid_grant"
        denied = qbo.get("/companyinfo/" + qbo.realm)
        assert denied.status_code == 401


def test_userinfo_needs_openid(qbo_sandbox: RunningSandbox) -> None:
    with_openid = connect(qbo_sandbox, scope=SCOPE + " openid email profile")
    url = qbo_sandbox.base_url + "/v1/openid_connect/userinfo"
    info = requests.get(url, headers={"Authorization": "Bearer " + with_openid.tokens["access_token"]})
    assert info.status_code == 200
    assert {"sub", "email", "emailVerified", "givenName", "familyName"} <= set(info.json())
    plain = connect(qbo_sandbox)
    assert (
        requests.get(url, headers={"Authorization": "Bearer " + plain.tokens["access_token"]}).status_code
        == 403
    )


def test_expired_and_malformed_tokens_get_the_lower_case_gateway_401(qbo: QBO) -> None:
    qbo.sandbox.control.advance_clock(3600)
    expired = qbo.get("/companyinfo/" + qbo.realm)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    error = expired.json()["fault"]["error"][0]
    assert expired.json()["fault"]["type"] == "AUTHENTICATION"
    assert (error["code"], error["message"]) == (
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
    )
    assert error["detail"].startswith("Token expired: ")
    qbo.tokens["access_token"] = "x"
    malformed = qbo.get("/companyinfo/" + qbo.realm)
    assert malformed.json()["fault"]["error"][0]["detail"] == "Malformed bearer token: too short or too long"


def test_wrong_realm_or_missing_scope_is_403_3100(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox)
    other = qbo_sandbox.control.create_company("US")
    qbo.realm = other
    assert_fault(qbo.get(f"/companyinfo/{other}"), 403, "3100")
    openid_only = connect(qbo_sandbox, scope="openid email")
    assert_fault(openid_only.get(f"/companyinfo/{openid_only.realm}"), 403, "3100")


def test_minorversion_below_75_is_served_and_companyinfo_reads(qbo: QBO) -> None:
    for version in ("4", "40", "75"):
        response = qbo.get(f"/companyinfo/{qbo.realm}", params={"minorversion": version})
        assert response.status_code == 200
        assert response.json()["CompanyInfo"]["CompanyAddr"]["Country"] == "USA"
