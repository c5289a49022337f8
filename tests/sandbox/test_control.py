"""The /_sandbox control API itself: token protection, validation of its inputs, the request log and
counter, tenant reset, the read-only tenant page."""

from __future__ import annotations

import pytest
import requests

from ledgerlink.devtools.sandboxes import SandboxControl, SandboxError

from .conftest import LINE_ITEM, REDIRECT, Xero


def test_control_api_needs_the_token(sandbox) -> None:
    assert requests.post(sandbox.base_url + "/_sandbox/tenants", json={"region": "AU"}).status_code == 401
    wrong = SandboxControl(sandbox.base_url, "wrong-token")
    with pytest.raises(SandboxError, match="401"):
        wrong.create_tenant("AU")
    assert requests.get(sandbox.base_url + "/_sandbox/health").json()["provider"] == "xero"


def test_the_token_is_taken_from_the_header_only(sandbox) -> None:
    """A token in the URL would land in access logs and Referer headers: the query parameter opens nothing."""
    url = sandbox.base_url + "/_sandbox/tenants"
    in_query = requests.post(url, params={"token": sandbox.token}, json={"region": "AU"})
    assert in_query.status_code == 401
    in_header = requests.post(url, headers={"X-Sandbox-Token": sandbox.token}, json={"region": "AU"})
    assert in_header.status_code in (200, 201)


def test_inputs_are_validated(sandbox) -> None:
    control = sandbox.control
    for call in (
        lambda: control.create_tenant("FR"),
        lambda: control.create_app([]),
        lambda: control.create_tenant("AU", limits={"per_hour": 5}),
        lambda: control.advance_clock(-1),
    ):
        with pytest.raises(SandboxError, match="400"):
            call()
    app = control.create_app([REDIRECT])
    with pytest.raises(SandboxError, match="404"):
        control.consent(app.client_id, ["no-such-tenant"], "offline_access")
    tenant = control.create_tenant("AU")
    with pytest.raises(SandboxError, match="400"):
        control.consent(app.client_id, [tenant], "offline_access", redirect_uri="http://elsewhere.test/cb")
    with pytest.raises(SandboxError, match="invalid_scope"):
        control.consent(app.client_id, [tenant], "accounting.everything")


def test_request_log_and_counter(xero: Xero) -> None:
    control = xero.sandbox.control
    xero.get("/Organisation")
    xero.put("/Contacts", {"Contacts": [{"Name": "Logged"}]}, headers={"Idempotency-Key": "log-1"})
    rows = control.requests(xero.tenant_id)
    assert [(r["method"], r["path"], r["status"]) for r in rows] == [
        ("GET", "/api.xro/2.0/Organisation", 200),
        ("PUT", "/api.xro/2.0/Contacts", 200),
    ]
    assert rows[1]["idempotency_key"] == "log-1" and rows[1]["client_id"] == xero.app.client_id
    assert control.count(xero.tenant_id, method="put") == 1
    assert control.count(xero.tenant_id, path="*/Organisation") == 1
    assert control.requests(xero.tenant_id, since=rows[0]["seq"]) == rows[1:]


def test_tenant_reset_and_page(xero: Xero) -> None:
    xero.invoice(xero.contact("Page Customer")["ContactID"], [LINE_ITEM], InvoiceNumber="PAGE-1")
    page = requests.get(f"{xero.sandbox.base_url}/_sandbox/tenants/{xero.tenant_id}")
    assert page.status_code == 200 and "PAGE-1" in page.text and "Page Customer" in page.text
    assert xero.tenant_id in requests.get(xero.sandbox.base_url + "/_sandbox").text
    xero.sandbox.control.reset_tenant(xero.tenant_id)
    ledger = xero.sandbox.control.ledger(xero.tenant_id)
    assert (ledger["Invoices"], ledger["Contacts"]) == ([], [])
    assert xero.get("/Organisation").status_code == 200  # the connection survives a reset


def test_lock_date_setting(xero: Xero) -> None:
    contact = xero.contact()
    before = xero.invoice(contact["ContactID"], [LINE_ITEM], Date="2026-06-15")
    xero.sandbox.control.update_settings(xero.tenant_id, lock_date="2026-06-30")
    org = xero.get("/Organisation").json()["Organisations"][0]
    assert org["EndOfYearLockDate"] == "/Date(1782777600000+0000)/"
    message = "The document date cannot be before the end of year lock date, currently set at 2026-06-30"
    body = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact["ContactID"]},
        "Date": "2026-06-30",
        "LineItems": [LINE_ITEM],
    }
    locked = xero.put("/Invoices", {"Invoices": [body]})
    assert locked.json()["Elements"][0]["ValidationErrors"][0]["Message"] == message
    edit = xero.post(f"/Invoices/{before['InvoiceID']}", {"Reference": "late edit"})
    assert edit.json()["Elements"][0]["ValidationErrors"][0]["Message"] == message
    assert xero.put("/Invoices", {"Invoices": [{**body, "Date": "2026-07-01"}]}).status_code == 200
    with pytest.raises(SandboxError, match="400"):
        xero.sandbox.control.update_settings(xero.tenant_id, lock_date="30/06/2026")


def test_currencies_setting(xero: Xero) -> None:
    listed = xero.get("/Currencies").json()["Currencies"]
    assert [c["Code"] for c in listed] == ["AUD"]  # the base currency of an AU organisation
    contact = xero.contact()
    body = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "LineItems": [LINE_ITEM]}
    refused = xero.put("/Invoices", {"Invoices": [{**body, "CurrencyCode": "GBP"}]})
    message = refused.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert message == "The organisation is not subscribed to currency GBP."
    xero.sandbox.control.update_settings(xero.tenant_id, currencies=["GBP"])
    assert [c["Code"] for c in xero.get("/Currencies").json()["Currencies"]] == ["AUD", "GBP"]
    assert xero.put("/Invoices", {"Invoices": [{**body, "CurrencyCode": "GBP"}]}).status_code == 200
    with pytest.raises(SandboxError, match="400"):
        xero.sandbox.control.update_settings(xero.tenant_id, currencies=["pounds"])


def test_deleted_organisation_answers_403(xero: Xero) -> None:
    xero.sandbox.control.delete_tenant(xero.tenant_id)
    gone = xero.get("/Organisation")
    assert (gone.status_code, gone.json()["Detail"]) == (403, "AuthenticationUnsuccessful")


def test_a_token_starting_with_a_dash_is_accepted() -> None:
    from ledgerlink.devtools.sandboxes import running_sandbox

    with running_sandbox("xero", token="-starts-with-a-dash") as dashed:
        assert dashed.control.create_tenant("NZ")


def test_identity_calls_are_logged_per_app(xero: Xero) -> None:
    xero.refresh()
    xero.refresh(xero.tokens["refresh_token"])
    token_calls = xero.sandbox.control.all_requests(client_id=xero.app.client_id, path="/connect/token")
    assert [r["status"] for r in token_calls] == [200, 200, 200]  # the code exchange and two refreshes
