"""Schedules and token upkeep against the Xero sandbox: keep-alive before the 60-day idle expiry, the daily
chart refresh that catches up, an access token Xero refuses mid-run, and the sweep command."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from ledgerlink.ledgers.models import ChartSnapshot, Connection
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.sweeper import keep_tokens_alive, refresh_stale_charts
from ledgerlink.sync.tasks import chart_refresh_task, keep_alive_task, sweep_task

from .conftest import issue

pytestmark = pytest.mark.xdist_group("xero-sandbox")


def test_keep_alive_refreshes_only_tokens_at_risk_and_is_idempotent(world):
    connection = world.connection
    old_refresh = connection.refresh_token
    Connection.objects.filter(pk=connection.pk).update(
        refresh_token_issued_at=timezone.now() - dt.timedelta(days=50)
    )
    assert keep_tokens_alive() == 1
    connection.refresh_from_db()
    assert connection.refresh_token != old_refresh  # rotated and saved
    assert timezone.now() - connection.refresh_token_issued_at < dt.timedelta(minutes=1)
    assert keep_tokens_alive() == 0  # nothing at risk any more: running again (or late) is harmless
    keep_alive_task.call_local()


def test_the_chart_refresh_reloads_only_stale_charts(world):
    accounts_reads = lambda: len(world.control.requests(world.tenant_id, method="GET", path="*/accounts"))  # noqa: E731
    before = accounts_reads()
    assert refresh_stale_charts() == 0  # loaded at connect: fresh
    ChartSnapshot.objects.filter(connection=world.connection).update(
        loaded_at=timezone.now() - dt.timedelta(days=2)
    )
    chart_refresh_task.call_local()
    assert accounts_reads() == before + 1
    assert refresh_stale_charts() == 0


def test_an_access_token_refused_mid_run_is_refreshed_and_the_invoice_goes_through(world):
    world.control.set_faults({"kind": "token_expired", "count": 1, "method": "PUT", "path": "*/invoices"})
    token = world.connection.access_token
    invoice = issue(world.organisation, world.customer, world.gst, "77.70")
    world.drain()
    world.connection.refresh_from_db()
    assert world.connection.access_token != token
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    assert Decimal(str(world.by_number()[invoice.number]["Total"])) == Decimal("77.70")


def test_the_sweep_command_and_task_ring_connections_with_due_records(world, doorbells, capsys):
    issue(world.organisation, world.customer, world.gst)
    doorbells.clear()
    call_command("sync-sweep")
    assert "rang 1 connection(s)" in capsys.readouterr().out
    assert doorbells == [(world.connection.pk, None)]
    sweep_task.call_local()
    assert len(doorbells) == 2
