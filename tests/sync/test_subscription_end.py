"""A cancelled subscription syncs until its paid month or trial is over, then holds its records (history and
mappings kept) until the connector is enabled again. Billing answers the engine through `sync_requested`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from ledgerlink.billing import services as billing
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import RemoteLink, SyncRecord, SyncState
from ledgerlink.sync.transitions import HELD_KIND

from .conftest import issue, run

pytestmark = pytest.mark.django_db


def at(organisation, day: dt.date):  # type: ignore[no-untyped-def]
    """Travel to midday of `day` in the organisation's zone (tests never read the wall clock)."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(organisation.time_zone))
    return time_machine.travel(noon, tick=False)


@pytest.fixture
def admin(organisation):  # type: ignore[no-untyped-def]
    user = get_user_model().objects.create_user("owner", "owner@sunny.example", "pw-long-enough-1")
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    return user


def test_sync_holds_after_the_paid_month_and_resumes_on_enable(
    connection,
    ledger,
    organisation,
    customer,
    gst,
    admin,
    client,
    doorbells,
    django_capture_on_commit_callbacks,
):
    with at(organisation, dt.date(2026, 1, 10)):
        billing.enable_connector(
            organisation, admin, "203.0.113.9", "test"
        )  # trial to 10 Feb, paid from 1 Mar
    with at(organisation, dt.date(2026, 3, 12)):
        before = issue(organisation, customer, gst)
        billing.cancel_connector(organisation, admin)  # March was billed: it is served to its end
        assert run(connection, ledger).stopped_for == ""
        client.force_login(admin)
        page = client.get(reverse("billing:status", args=[organisation.pk])).content.decode()
        assert "Continues until 31 March 2026" in page
    assert len(ledger.live(ObjectKind.INVOICE)) == 1

    with at(organisation, dt.date(2026, 4, 1)):
        after = issue(organisation, customer, gst)
        report = run(connection, ledger)
        assert "subscription has ended" in report.stopped_for
        held = SyncRecord.objects.filter(subject_id=str(after.pk), kind=ObjectKind.INVOICE).get()
        assert (held.state, held.error_kind) == (SyncState.PAUSED, HELD_KIND)
        client.force_login(admin)  # the session of three weeks ago has expired
        page = client.get(reverse("billing:status", args=[organisation.pk])).content.decode()
        assert (
            "Paused: what was paid for or the trial ended on 31 March 2026." in page
            and "Continues until" not in page
        )
    assert len(ledger.live(ObjectKind.INVOICE)) == 1  # nothing reached the ledger after the paid month
    assert RemoteLink.objects.filter(subject_id=str(before.pk)).exists()  # history kept

    with at(organisation, dt.date(2026, 4, 20)):
        with django_capture_on_commit_callbacks(execute=True):
            billing.enable_connector(organisation, admin, "203.0.113.9", "test")
        assert (connection.pk, None) in doorbells
        assert run(connection, ledger).stopped_for == ""
    assert len(ledger.live(ObjectKind.INVOICE)) == 2
    assert SyncRecord.objects.get(pk=held.pk).state == SyncState.SYNCED


def test_a_trial_cancelled_early_syncs_to_the_trial_end(
    connection, ledger, organisation, customer, gst, admin
):
    with at(organisation, dt.date(2026, 1, 10)):
        billing.enable_connector(organisation, admin, "203.0.113.9", "test")
        billing.cancel_connector(organisation, admin)
    # The trial ends 10 Feb; the first paid day is 1 Mar, so the free days run to 28 Feb.
    with at(organisation, dt.date(2026, 2, 28)):
        issue(organisation, customer, gst)
        assert run(connection, ledger).stopped_for == ""
    with at(organisation, dt.date(2026, 3, 1)):
        issue(organisation, customer, gst)
        assert "subscription has ended" in run(connection, ledger).stopped_for
    assert len(ledger.live(ObjectKind.INVOICE)) == 1


def test_an_organisation_in_good_standing_is_never_held(
    connection, ledger, organisation, customer, gst, admin
):
    with at(organisation, dt.date(2027, 6, 1)):
        billing.enable_connector(organisation, admin, "203.0.113.9", "test")
    with at(organisation, dt.date(2028, 6, 1)):  # a year on, still enabled
        issue(organisation, customer, gst)
        assert run(connection, ledger).stopped_for == ""
    assert len(ledger.live(ObjectKind.INVOICE)) == 1
