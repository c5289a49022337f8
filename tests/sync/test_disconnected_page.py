"""Intuit's connect/disconnect flow (certification.md 4.4/5.3), through the Django client against the
QuickBooks sandbox: a user who disconnects LedgerLink on QuickBooks' side lands on our "disconnect URL",
which says the link has ended and offers Reconnect. The visit changes nothing by itself; QuickBooks refusing
the grant does: the connection needs reconnecting, its queue waits paused, history and mappings are kept,
and reconnecting to the same company sends what was held."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ledgerlink.cashflow.models import Membership
from ledgerlink.ledgers.models import Connection, ConnectionStatus, TaxRateMapping
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.sync.models import SyncRecord, SyncState

from .conftest import issue
from .ledger_world import COMPANIES, LedgerWorld, start_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")

LANDING = reverse("ledgers:disconnected", args=["quickbooks"])
NAME = provider_name("quickbooks")  # "QuickBooks Online", spelt as Intuit asks (certification.md 1.4)


@pytest.fixture
def world(request, db, settings) -> LedgerWorld:
    yield from start_world(request, settings, COMPANIES["quickbooks-au"])


def _admin_browser(world: LedgerWorld) -> Client:
    browser = Client()
    browser.force_login(Membership.objects.get(organisation=world.organisation).user)
    return browser


def _status(world: LedgerWorld) -> str:
    return Connection.objects.get(pk=world.connection.pk).status


def test_disconnecting_on_quickbooks_side_lands_on_a_page_that_pauses_and_offers_reconnect(world):
    synced = issue(world.organisation, world.customer, world.gst, "1100.00")
    world.drain()
    waiting = issue(world.organisation, world.customer, world.gst, "550.00")  # not sent yet
    world.harness.revoke_grants()  # the user disconnects LedgerLink in QuickBooks

    page = _admin_browser(world).get(LANDING)

    assert page.status_code == 200
    text = page.content.decode()
    assert f"{NAME} is disconnected" in text and f"link to {NAME} has ended" in text
    assert "Sending is paused" in text and "history and account mappings are kept" in text
    assert f'value="{world.organisation.pk}"' in text and f"Reconnect {NAME}" in text
    assert reverse("web:organisation", args=[world.organisation.pk]) in text
    assert _status(world) == ConnectionStatus.NEEDS_RECONNECT
    records = {r.subject_id: r for r in SyncRecord.objects.filter(kind="invoice")}
    assert records[str(synced.pk)].state == SyncState.SYNCED and records[str(synced.pk)].remote_id
    assert records[str(waiting.pk)].state == SyncState.PAUSED
    assert TaxRateMapping.objects.filter(organisation=world.organisation).exists()

    # Reconnect from the page's button: the same company, and the held invoice goes out.
    browser = _admin_browser(world)
    started = browser.post(
        reverse("ledgers:connect", args=["quickbooks"]), {"organisation": world.organisation.pk}
    )
    assert started.status_code == 302, started.content
    answer = world.harness.consent(started["Location"], [world.tenant_id])
    assert browser.get(reverse("ledgers:callback", args=["quickbooks"]), answer).status_code == 200
    assert _status(world) == ConnectionStatus.ACTIVE
    world.drain()
    assert world.books(waiting.number).total == waiting.total
    assert world.harness.invoice_numbers(world.tenant_id).count(synced.number) == 1


def test_a_visit_while_quickbooks_still_honours_the_grant_changes_nothing(world):
    # A forged or mistaken link must not disconnect anyone: only QuickBooks' refusal does.
    page = _admin_browser(world).get(LANDING)
    assert page.status_code == 200
    assert f"Still connected to {NAME}" in page.content.decode()
    assert _status(world) == ConnectionStatus.ACTIVE


def test_signed_out_the_page_says_what_ended_and_how_to_sign_in_and_reconnect(world):
    world.harness.revoke_grants()
    page = Client().get(LANDING)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"link to {NAME} has ended" in text and f"Sign in to reconnect {NAME}" in text
    assert "/login/?next=" in text
    assert _status(world) == ConnectionStatus.ACTIVE  # nobody to ask for: the next sync finds out
