"""The frame every page shares: the organisation in the URL, the switcher, and confirmations before
anything that stops syncing or billing."""

from __future__ import annotations

import pytest

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role

from .world import PASSWORD, connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_organisations(installer):
    organisation, _gst, _free, admin, member = installer
    other = services.create_organisation("Harbour Electric", "GB", accounting_email="a@harbour.example")
    Membership.objects.create(user=admin, organisation=other, role=Role.ADMIN)
    return organisation, other, admin, member


def test_the_switcher_offers_the_same_page_in_the_users_other_organisations(client, two_organisations):
    organisation, other, *_ = two_organisations
    client.login(username="alex", password=PASSWORD)
    page = client.get(f"/orgs/{organisation.pk}/billing/").content.decode()
    assert f'href="/orgs/{other.pk}/billing/"' in page and "Harbour Electric" in page
    assert 'aria-current="page">Billing' in page


def test_a_member_reaches_no_admin_action_by_url(client, two_organisations):
    organisation, *_ = two_organisations
    client.login(username="sam", password=PASSWORD)
    assert client.get(f"/orgs/{organisation.pk}/disconnect/").status_code == 403
    assert client.get(f"/orgs/{organisation.pk}/billing/cancel").status_code == 403
    assert client.get(f"/orgs/{organisation.pk}/billing/enable").status_code == 403
    assert client.get(f"/orgs/{organisation.pk}/api-keys/").status_code == 403
    assert client.post(f"/orgs/{organisation.pk}/api-keys/", {"name": "x"}).status_code == 403
    assert client.post(f"/orgs/{organisation.pk}/retry/").status_code == 403
    assert b"I agree" not in client.get(f"/orgs/{organisation.pk}/").content


def test_no_page_of_another_organisation_is_found(client, two_organisations):
    _, other, *_ = two_organisations
    client.login(username="sam", password=PASSWORD)  # a member of the first organisation only
    paths = ("", "billing/", "billing/cancel", "mapping/", "invoices/", "disconnect/", "health/", "members/")
    for path in (*paths, "api-keys/"):
        assert client.get(f"/orgs/{other.pk}/{path}").status_code == 404, path


def test_cancel_asks_first_and_says_what_stops(client, installer):
    organisation, *_ = installer
    client.login(username="alex", password=PASSWORD)
    client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"})
    confirm = client.get(f"/orgs/{organisation.pk}/billing/cancel").content.decode()
    assert "No further month is billed" in confirm and "Yes, cancel the subscription" in confirm
    assert services_enabled(organisation)
    client.post(f"/orgs/{organisation.pk}/billing/cancel")
    assert not services_enabled(organisation)


def test_disconnect_asks_first_and_names_the_ledger(client, xero_sandbox, xero_app, installer):
    organisation, *_ = installer
    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Solar Pty Ltd")
    client.login(username="alex", password=PASSWORD)
    client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"})
    connected = connect(client, xero_sandbox, organisation, tenant_id).content.decode()
    assert f'href="/orgs/{organisation.pk}/mapping/"' in connected  # the connected page opens the next step
    confirm = client.get(f"/orgs/{organisation.pk}/disconnect/").content.decode()
    assert "Disconnect Xero from Bright Roofs Solar?" in confirm and "Yes, disconnect Xero" in confirm
    assert 'action="/connections/xero/disconnect/"' in confirm


def services_enabled(organisation) -> bool:
    from ledgerlink.billing import services as billing

    subscription = billing.subscription_of(organisation)
    return subscription is not None and subscription.is_enabled


def test_refusals_keep_the_layout_and_a_way_back(client, two_organisations):
    organisation, other, *_ = two_organisations
    client.login(username="sam", password=PASSWORD)
    refused = client.get(f"/orgs/{organisation.pk}/api-keys/")
    assert refused.status_code == 403 and "<h1>Administrators only</h1>" in refused.content.decode()
    assert f'href="/orgs/{organisation.pk}/"' in refused.content.decode()
    missing = client.get(f"/orgs/{other.pk}/")
    assert missing.status_code == 404 and "Harbour Electric" not in missing.content.decode()
    assert "<h1>Not found</h1>" in missing.content.decode()
