"""An administrator sets LedgerLink up through its pages against the real Xero sandbox: agree to the
pricing, connect (OAuth with state and PKCE), find the chart loaded, take the suggested mapping, fix a
problem the pre-flight check shows, and save. Members can look but not change; strangers get a 404."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def xero_app(settings, xero_sandbox):
    app = xero_sandbox.control.create_app([f"{settings.PUBLIC_URL}/connections/xero/callback/"])
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = xero_sandbox.base_url
    settings.XERO_AUTHORIZE_URL = f"{xero_sandbox.base_url}/identity/connect/authorize"
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    return app


@pytest.fixture
def installer():
    organisation = services.create_organisation(
        "Bright Roofs Solar", "AU", accounting_email="books@bright.example"
    )
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    free = services.create_tax_rate(organisation, "GST free", Decimal("0"))
    users = get_user_model()
    admin = users.objects.create_user("alex", password="correct horse battery")
    member = users.objects.create_user("sam", password="correct horse battery")
    Membership.objects.create(user=admin, organisation=organisation, role=Role.ADMIN)
    Membership.objects.create(user=member, organisation=organisation, role=Role.MEMBER)
    return organisation, gst, free, admin, member


def _connect(client, xero_sandbox, xero_app, organisation, tenant_id):
    start = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    assert start.status_code == 302, start.content.decode()
    query = {k: v[0] for k, v in parse_qs(urlparse(start["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256"
    code = xero_sandbox.control.consent(
        xero_app.client_id,
        [tenant_id],
        query["scope"],
        redirect_uri=query["redirect_uri"],
        state=query["state"],
        code_challenge=query["code_challenge"],
    )
    return client.get("/connections/xero/callback/", {"code": code, "state": query["state"]})


def test_admin_sets_up_xero_in_one_sitting(client, xero_sandbox, xero_app, installer):
    organisation, gst, free, *_ = installer
    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Solar Pty Ltd")
    assert (
        client.post("/login/", {"username": "alex", "password": "correct horse battery"}).status_code == 302
    )

    page = client.get(f"/orgs/{organisation.pk}/")
    assert page.status_code == 200 and b"Connect Xero" in page.content

    # Nothing connects before the pricing terms are accepted.
    refused = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    assert refused.status_code == 409 and b"pricing terms" in refused.content
    assert client.post("/billing/enable", {"agree": "on"}).status_code == 302

    connected = _connect(client, xero_sandbox, xero_app, organisation, tenant_id)
    assert connected.status_code in (200, 302)
    connection = Connection.objects.get(organisation=organisation)
    assert connection.tenant_id == tenant_id

    # The chart loaded on connection: the mapping page proposes accounts straight away.
    mapping = client.get(f"/orgs/{organisation.pk}/mapping/")
    assert mapping.status_code == 200
    form = mapping.context["form"]
    proposed = {name: form.initial.get(name, "") for name in form.fields}
    assert proposed[f"tax_rate:{gst.pk}.tax_code"] == "OUTPUT"
    assert proposed[f"tax_rate:{free.pk}.tax_code"] == "EXEMPTOUTPUT"
    assert proposed["payment:default.account"]

    # Save the proposal with an archived account for GST: the pre-flight check names that field.
    chart_accounts = mapping.context["chart"].accounts
    archived = next(a for a in chart_accounts if a.status == "ARCHIVED" and a.is_revenue)
    bad = {**proposed, f"tax_rate:{gst.pk}.account": archived.id}
    saved = client.post(f"/orgs/{organisation.pk}/mapping/", bad, follow=True)
    problems = saved.context["problems"]
    assert "archived" in problems[f"tax_rate:{gst.pk}.account"]

    fixed = client.post(f"/orgs/{organisation.pk}/mapping/", proposed, follow=True)
    assert fixed.context["problems"] == {}
    row = TaxRateMapping.objects.get(organisation=organisation, tax_rate=gst)
    assert (row.ledger_tax_code, row.account_id) == ("OUTPUT", proposed[f"tax_rate:{gst.pk}.account"])
    assert PaymentAccountMapping.objects.filter(organisation=organisation, is_default=True).exists()
    assert b"Every mapping checks out" in client.get(f"/orgs/{organisation.pk}/").content


def test_members_look_but_cannot_change_the_mapping(client, installer):
    organisation, gst, *_ = installer
    client.login(username="sam", password="correct horse battery")
    assert client.get(f"/orgs/{organisation.pk}/").status_code == 200
    response = client.post(f"/orgs/{organisation.pk}/mapping/", {f"tax_rate:{gst.pk}.tax_code": "OUTPUT"})
    assert response.status_code == 403
    assert not TaxRateMapping.objects.exists()


def test_another_organisations_pages_are_not_found(client, installer):
    other = services.create_organisation("Elsewhere Solar", "US", accounting_email="a@elsewhere.example")
    client.login(username="alex", password="correct horse battery")
    assert client.get(f"/orgs/{other.pk}/").status_code == 404
    assert client.get(f"/orgs/{other.pk}/mapping/").status_code == 404
    assert client.post(f"/orgs/{other.pk}/mapping/", {}).status_code == 404


def test_pages_need_a_signed_in_user(client, installer):
    organisation, *_ = installer
    response = client.get(f"/orgs/{organisation.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
