"""Sync health (chart, queue, connection, the searchable audit log), API keys and usage, members."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.models import ApiKey
from ledgerlink.ledgers import registry
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.sync import ratelimit

from .world import PASSWORD

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 4, 3, 0, tzinfo=datetime.UTC)


@time_machine.travel(NOW, tick=False)
def test_health_shows_the_queue_the_chart_and_an_empty_log(client, installer):
    organisation, *_ = installer
    client.login(username="sam", password=PASSWORD)  # members may look
    page = client.get(f"/orgs/{organisation.pk}/health/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<dd id="queue-depth">0</dd>' in html and "<svg" in html and "No requests yet." in html
    assert len(page.context["days"]) == 14 and page.context["days"][-1].day == datetime.date(2026, 12, 4)
    assert (
        "No request matches “nothing”"
        in client.get(f"/orgs/{organisation.pk}/health/?q=nothing").content.decode()
    )


def test_api_keys_are_created_once_shown_and_revoked_by_admins_only(client, installer):
    organisation, *_ = installer
    client.login(username="sam", password=PASSWORD)
    assert client.get(f"/orgs/{organisation.pk}/api-keys/").status_code == 403
    client.logout()
    client.login(username="alex", password=PASSWORD)
    created = client.post(f"/orgs/{organisation.pk}/api-keys/", {"name": "Website checkout"})
    raw = created.context["new_key"]
    assert raw and raw in created.content.decode() and "shown only once" in created.content.decode()
    key = ApiKey.objects.get(organisation=organisation, name="Website checkout")
    assert apikeys.authenticate(raw) == key
    assert raw not in client.get(f"/orgs/{organisation.pk}/api-keys/").content.decode()
    client.post(f"/orgs/{organisation.pk}/api-keys/{key.pk}/revoke/")
    assert apikeys.authenticate(raw) is None
    page = client.get(f"/orgs/{organisation.pk}/api-keys/").content.decode()
    assert "The connector's own traffic" in page and "never billed" in page


def test_members_and_roles_are_listed(client, installer):
    organisation, *_ = installer
    client.login(username="sam", password=PASSWORD)
    page = client.get(f"/orgs/{organisation.pk}/members/").content.decode()
    assert "alex" in page and "Administrator" in page and "sam" in page and "(you)" in page


@time_machine.travel(NOW, tick=False)
def test_the_chart_counts_items_synced_and_requests_failed_on_the_organisations_day(client, installer):
    from ledgerlink.ledgers.models import Connection
    from ledgerlink.sync.models import Attempt

    organisation, *_ = installer  # Australia/Sydney: 03:00 UTC on 4 December is the afternoon there
    connection = Connection.objects.create(organisation=organisation, provider="xero", tenant_id="t")
    Attempt.objects.create(
        organisation=organisation, connection=connection, outcome="ok", item_count=3, started_at=NOW
    )
    Attempt.objects.create(
        organisation=organisation,
        connection=connection,
        outcome="retry",
        item_count=2,
        started_at=NOW,
        path="/Invoices",
        error_message="Xero is down",
    )
    client.login(username="alex", password=PASSWORD)
    page = client.get(f"/orgs/{organisation.pk}/health/")
    today = page.context["days"][-1]
    assert (today.synced, today.failed, today.synced_height) == (3, 1, 120)
    found = client.get(f"/orgs/{organisation.pk}/health/?q=down").context["log"]
    assert [a.error_message for a in found] == ["Xero is down"]


@pytest.mark.parametrize("provider", sorted(registry.LEDGERS))
@time_machine.travel(NOW, tick=False)
def test_health_shows_the_rate_limit_headroom_the_workers_share(client, installer, provider):
    organisation, *_ = installer
    Connection.objects.create(
        organisation=organisation, provider=provider, tenant_id="t-1", tenant_name="Books"
    )
    limits = registry.LEDGERS[provider].limits
    for holder in ("a", "b", "c"):
        assert ratelimit.acquire(provider, "t-1", holder, limits) == 0
    ratelimit.release(provider, "t-1", "a")
    ratelimit.pause(provider, "t-1", 42)  # the ledger's Retry-After
    client.login(username="sam", password=PASSWORD)
    html = client.get(f"/orgs/{organisation.pk}/health/").content.decode()
    shown = re.sub(r"\s+", " ", html.split('<dd id="headroom">')[1].split("</dd>")[0])
    assert f"3 of {limits.per_minute:,} calls this minute, 3 of {limits.per_day:,} today" in shown
    assert f"2 of {limits.in_flight} at once" in shown
    assert f"Next call in 42 s: {provider_name(provider)} asked LedgerLink to wait" in shown
