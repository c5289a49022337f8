"""A payment the ledger refuses is seen everywhere a user or a client looks, and goes through after the fix:
the invoices page (the invoice is not "Synced" while its payment failed, and says why), the banner, the API
(the invoice's sync state with each object, and the organisation's queue), then a retry after the fix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import Membership, Role

from .conftest import issue
from .xero_world import XeroWorld, build_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")


@pytest.fixture
def world(db, settings, xero_sandbox) -> XeroWorld:
    return build_world(settings, xero_sandbox)


def _api(world: XeroWorld) -> Client:
    key = apikeys.create_api_key(world.organisation, "visibility test")[1]
    return Client(headers={"Authorization": f"Bearer {key}"})


def _bookkeeper(world: XeroWorld) -> Client:
    user = get_user_model().objects.create_user("bookkeeper", password="x" * 16)
    Membership.objects.create(user=user, organisation=world.organisation, role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_a_refused_payment_shows_on_the_page_the_banner_and_the_api_and_goes_through_after_the_fix(world):
    invoice = issue(world.organisation, world.customer, world.gst, "860.00")
    world.drain()
    # The books are closed up to today in Xero: a payment dated today is refused there (400).
    today = services.organisation_today(world.organisation)
    world.control.update_settings(world.tenant_id, lock_date=today.isoformat())
    services.record_payment(invoice, Decimal("300.00"), "card")
    world.drain()

    api, web = _api(world), _bookkeeper(world)
    sync = api.get(f"/api/v1/invoices/{invoice.pk}/sync").json()
    assert sync["state"] == "error"
    (xero,) = sync["ledgers"]
    objects = {o["kind"]: o for o in xero["objects"]}
    assert objects["invoice"]["state"] == "synced" and objects["invoice"]["remote_id"]
    assert objects["payment"]["state"] == "error" and "lock date" in objects["payment"]["message"]
    queue = api.get("/api/v1/sync").json()
    assert (queue["needs_attention"], queue["waiting_to_send"], queue["caught_up"]) == (1, 0, True)

    page = web.get(f"/orgs/{world.organisation.pk}/invoices/").content.decode()
    assert "Payment: " in page and "lock date" in page  # the invoice row says which object and why
    assert "1 item waits for a fix" in page  # the banner on every page
    failed_only = web.get(f"/orgs/{world.organisation.pk}/invoices/", {"sync": "needs_attention"})
    assert invoice.number in failed_only.content.decode()

    world.control.update_settings(world.tenant_id, lock_date=None)  # the bookkeeper reopens the period
    retried = web.post(f"/orgs/{world.organisation.pk}/invoices/{invoice.pk}/retry/")
    assert retried.status_code == 302
    world.drain()

    assert api.get(f"/api/v1/invoices/{invoice.pk}/sync").json()["state"] == "synced"
    queue = api.get("/api/v1/sync").json()
    assert (queue["needs_attention"], queue["caught_up"]) == (0, True)
    (books,) = world.invoices()
    assert Decimal(str(books["AmountPaid"])) == Decimal("300.00")
    assert "waits for a fix" not in web.get(f"/orgs/{world.organisation.pk}/invoices/").content.decode()


def test_the_sync_endpoints_answer_only_for_the_callers_organisation(world):
    invoice = issue(world.organisation, world.customer, world.gst, "120.00")
    other = services.create_organisation("Elsewhere Solar", "AU")
    stranger = Client(headers={"Authorization": f"Bearer {apikeys.create_api_key(other, 'x')[1]}"})
    assert stranger.get(f"/api/v1/invoices/{invoice.pk}/sync").status_code == 404
    assert stranger.get("/api/v1/sync").json()["by_state"]["pending"] == 0
    assert Client().get("/api/v1/sync").status_code == 401
