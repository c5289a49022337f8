"""An administrator sets LedgerLink up through its pages against the real Xero sandbox: agree to the
pricing, connect (OAuth with state and PKCE), find the chart loaded, take the suggested mapping, fix a
problem the pre-flight check shows, and save. Members can look but not change; strangers get a 404."""

from __future__ import annotations

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping

from .world import connect

pytestmark = pytest.mark.django_db


def test_admin_sets_up_xero_in_one_sitting(client, xero_sandbox, xero_app, installer):
    organisation, gst, free, *_ = installer
    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Solar Pty Ltd")
    home = client.post("/login/", {"username": "alex", "password": "correct horse battery"}, follow=True)
    assert home.redirect_chain == [("/", 302)] and b"Bright Roofs Solar" in home.content

    page = client.get(f"/orgs/{organisation.pk}/")
    # Setup reads as steps: before the connector is enabled, enabling is the step on offer, not Connect.
    assert page.status_code == 200 and b"Connect Xero" not in page.content
    assert b"I agree to the pricing terms" in page.content and "A$69.00" not in page.content.decode()
    assert "$69.00 per month" in page.content.decode()

    # Nothing connects before the pricing terms are accepted.
    refused = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    assert refused.status_code == 409 and b"pricing terms" in refused.content
    enabled = client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"})
    assert enabled["Location"] == f"/orgs/{organisation.pk}/"  # back to setup, at its next step
    assert b'<button class="primary">Connect Xero</button>' in client.get(enabled["Location"]).content

    connected = connect(client, xero_sandbox, organisation, tenant_id)
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

    # Proposals are marked as such, with their reason, and no problem about the (empty) saved values.
    assert form.reasons[f"tax_rate:{free.pk}.tax_code"] == "matched by rate 0% and name"
    assert "<strong>Proposed</strong> · the business bank account" in mapping.content.decode()
    assert mapping.context["problems"] == {} or not set(mapping.context["problems"]) & set(form.reasons)

    # An archived account is never offered, and refused beside its field when posted anyway.
    chart_accounts = mapping.context["chart"].accounts
    archived = next(a for a in chart_accounts if a.status == "ARCHIVED" and a.is_revenue)
    assert f'value="{archived.id}"' not in mapping.content.decode()
    bad = {**proposed, f"tax_rate:{gst.pk}.account": archived.id}
    refused = client.post(f"/orgs/{organisation.pk}/mapping/", bad)
    assert refused.status_code == 400 and not TaxRateMapping.objects.exists()
    assert "archived" in refused.context["form"].errors[f"tax_rate:{gst.pk}.account"][0]

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
