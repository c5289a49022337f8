"""Sync health (chart, queue, connection, the searchable audit log), API keys and usage, members."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.models import ApiKey

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
