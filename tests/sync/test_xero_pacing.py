"""Pacing by Xero's own signals, end to end: the real worker pushes a backlog into a Xero sandbox running at
a time scale, with a small minute budget on both sides so the push spans several of the tenant's fixed
windows. The sandbox's request log says when each call landed in which window: after the first window the
engine starts each one within about a second of its opening (the phase it learned), uses every window in
between, and is refused at most once."""

from __future__ import annotations

import datetime as dt
import math
import time
from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.devtools.sandboxes import start_sandbox
from ledgerlink.ledgers.contract import RateLimits
from ledgerlink.ledgers.xero.ledger import XeroLedger
from ledgerlink.sandbox.control.limiter import MINUTE, _offset
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import SyncRecord, SyncState, TenantBudget
from ledgerlink.sync.worker import sync_connection

from .conftest import issue
from .xero_world import build_world

SCALE = 12.0  # a Xero minute lasts 5 real seconds
PER_MINUTE = 6
INVOICES = 24
# Retry-After is whole real seconds, and a call takes a moment: how late a window may be started.
LATE_S = 1.5 * SCALE


@pytest.fixture(scope="module")
def scaled_sandbox():
    sandbox = start_sandbox("xero", time_scale=SCALE)
    yield sandbox
    sandbox.stop()


def backlog(organisation, gst, _customer) -> None:
    start = dt.date(2026, 1, 5)
    for n in range(INVOICES):
        customer = services.create_customer(
            organisation, services.CustomerInput(name=f"Pacing {n:02}", email=f"pace{n:02}@example.com")
        )
        issue(organisation, customer, gst, f"{100 + n}.00", issue_date=start + dt.timedelta(days=n))


@pytest.fixture
def world(db, settings, scaled_sandbox, monkeypatch):
    # Small batches and a small minute on both ends: about 13 calls, three windows, in seconds.
    monkeypatch.setattr(XeroLedger, "max_batch", 4)
    monkeypatch.setattr(XeroLedger, "limits", RateLimits(per_minute=PER_MINUTE, in_flight=5, per_day=5000))
    settings.LEDGERLINK_SYNC_TIME_SCALE = SCALE
    return build_world(settings, scaled_sandbox, limits={"per_minute": PER_MINUTE}, before_connect=backlog)


def drain(connection_id: int) -> None:
    """Run the worker until nothing is left, sleeping each hand-over out as huey's delayed doorbell would
    (a run with nothing due yet returns at once: poll)."""
    for _ in range(400):
        report = sync_connection(connection_id)
        if (
            not SyncRecord.objects.filter(connection_id=connection_id)
            .exclude(state=SyncState.SYNCED)
            .exists()
        ):
            return
        time.sleep(min(max(report.resume_in_s or 0.0, 0.1), 10.0))
    raise AssertionError("the push did not finish")


def test_each_window_is_used_from_its_start_and_at_most_one_call_is_refused(world):
    control = world.sandbox.control
    offset = _offset(f"{world.app.client_id}/{world.tenant_id}", MINUTE)
    # Start half-way through the next window (the connect's calls stay in this one): a limiter blind to the
    # phase then idles half of every later window.
    into = (control.clock() - offset) % MINUTE
    control.advance_clock(MINUTE - into + MINUTE / 2)
    # A real ledger's clock never jumps: what the connect's calls taught about the phase is void now.
    TenantBudget.objects.filter(tenant_id=world.tenant_id).delete()
    marker = control.requests(world.tenant_id)[-1]["seq"]

    start_push(world.organisation.pk, Selection())
    drain(world.connection.pk)

    log = control.requests(world.tenant_id, since=marker)
    refused = [row for row in log if row["status"] == 429]
    assert len(refused) <= 1
    windows: dict[int, list[float]] = {}
    for row in log:
        if row["status"] != 429:
            windows.setdefault(math.floor((row["at"] - offset) / MINUTE), []).append(row["at"])
    first, last = min(windows), max(windows)
    assert sorted(windows) == list(range(first, last + 1)), "a whole window went unused"
    assert last - first >= 2  # the budget bound: the test measures pacing, not a push that fits a window
    for index in range(first + 1, last + 1):
        opened = offset + index * MINUTE
        assert min(windows[index]) - opened <= LATE_S, f"window {index} started late"
        assert len(windows[index]) <= PER_MINUTE
    invoices = [i for i in world.ledger()["Invoices"] if i["Type"] == "ACCREC"]
    assert sorted(Decimal(str(i["Total"])) for i in invoices) == [Decimal(100 + n) for n in range(INVOICES)]
