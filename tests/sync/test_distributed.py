"""Distributed mode for real: PostgreSQL, Redis (RedisHuey) and `ledgerlink run_huey` consumer processes
syncing one organisation at once against the Xero sandbox. Runs in the PostgreSQL pass; with CI=true a
missing Redis is a failure, not a skip. In the SQLite pass these tests are skipped (not a missing service:
an embedded database cannot be shared with other processes this way)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection as db
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage

from ledgerlink.cashflow import services
from ledgerlink.devtools.services import reachable
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.sweeper import sweep

from .conftest import issue
from .xero_world import XeroWorld, build_world

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LEASE_S = 6  # consumers' lease: short, so a killed worker's claim lapses within the test

pytestmark = [pytest.mark.distributed, pytest.mark.xdist_group("xero-sandbox")]


def _require_services() -> None:
    if db.vendor != "postgresql":
        pytest.skip("distributed mode runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
    if not reachable(REDIS_URL, 6379):
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI ({REDIS_URL})")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


@pytest.fixture
def doorbells() -> list:
    """Real doorbells here (the conftest's recorder is for in-process tests)."""
    return []


@pytest.fixture
def queue_name(monkeypatch) -> Iterator[str]:
    """A Redis queue of its own for this test: this process enqueues into it, the consumers read it."""
    _require_services()
    name = f"ledgerlink-test-{uuid.uuid4().hex[:10]}"
    storage = RedisStorage(name=name, url=REDIS_URL)
    monkeypatch.setattr(HUEY, "storage", storage)
    yield name
    storage.flush_all()


@pytest.fixture
def world(transactional_db, settings, xero_sandbox, queue_name) -> Iterator[XeroWorld]:
    built = build_world(settings, xero_sandbox)
    yield built
    xero_sandbox.control.clear_faults()


@pytest.fixture
def consumers(world, queue_name, tmp_path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Start `ledgerlink run_huey` consumers on the test database and this test's Redis queue; each is
    stopped at the end (only the processes started here)."""
    started: list[subprocess.Popen] = []
    database = db.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://{}@{}:{}/{}".format(
            database["USER"], database["HOST"] or "127.0.0.1", database["PORT"] or 5432, database["NAME"]
        ),
        "REDIS_URL": REDIS_URL,
        "LEDGERLINK_HUEY_NAME": queue_name,
        "LEDGERLINK_DATA_DIR": str(tmp_path),
        "LEDGERLINK_SYNC_LEASE_S": str(LEASE_S),
        "XERO_API_URL": django_settings.XERO_API_URL,
        "XERO_IDENTITY_URL": django_settings.XERO_IDENTITY_URL,
        "XERO_CLIENT_ID": django_settings.XERO_CLIENT_ID,
        "XERO_CLIENT_SECRET": django_settings.XERO_CLIENT_SECRET,
    }

    def start() -> subprocess.Popen:
        command = [sys.executable, "-m", "ledgerlink", "run_huey", "--workers", "2", "--no-periodic", "-q"]
        process = subprocess.Popen(command, env=env, cwd=Path(tmp_path), stdout=subprocess.DEVNULL)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def all_synced() -> bool:
    states = set(SyncRecord.objects.values_list("state", flat=True))
    return bool(states) and states == {SyncState.SYNCED}


def test_three_consumers_sync_every_invoice_exactly_once_within_xeros_limits(world, consumers):
    # Six worker threads in three processes share one tenant's budget; the sandbox enforces Xero's limits
    # and would answer 429 to any call over them. (Racing the budget itself: test_ratelimit.py.)
    consumers(), consumers(), consumers()
    invoices = [issue(world.organisation, world.customer, world.gst, f"{200 + n}.{n:02}") for n in range(30)]
    for invoice in invoices[::3]:
        services.record_payment(invoice, Decimal("20.00"), "card")
    wait_until(all_synced, 90, "every record to sync through the consumers")
    books = world.by_number()  # fails on any duplicate number
    assert sorted(books) == sorted(i.number for i in invoices)
    for invoice in invoices:
        invoice.refresh_from_db()
        assert Decimal(str(books[invoice.number]["Total"])) == invoice.total
        assert Decimal(str(books[invoice.number]["AmountPaid"])) == invoice.amount_paid
    payments = [p for p in world.ledger()["Payments"] if p["Status"] == "AUTHORISED"]
    assert len(payments) == len(invoices[::3])
    contacts = [c for c in world.ledger()["Contacts"] if c.get("EmailAddress") == world.customer.email]
    assert len(contacts) == 1
    assert world.control.requests(world.tenant_id, status=429) == []


def test_a_worker_killed_mid_batch_loses_its_lease_and_another_finishes_without_duplicates(world, consumers):
    # Hold every invoice batch in the "network" long enough to kill the worker while its lease is held.
    world.control.set_faults(
        {
            "kind": "latency",
            "latency_ms": 2500,
            "method": "PUT",
            "path": "*/invoices",
            "tenant_id": world.tenant_id,
        }
    )
    # Every invoice is queued before the consumer starts, so they travel in one batch under one key however
    # slowly a loaded machine issues them (a consumer racing the issuing would split them into two batches).
    invoices = [issue(world.organisation, world.customer, world.gst, f"{300 + n}.00") for n in range(12)]
    victim = consumers()

    def batch_in_flight() -> bool:
        return SyncRecord.objects.filter(
            kind=ObjectKind.INVOICE, state=SyncState.IN_FLIGHT, unknown_outcome_since__isnull=False
        ).exists()

    wait_until(batch_in_flight, 30, "the consumer to send an invoice batch")
    victim.send_signal(signal.SIGKILL)
    victim.wait(5)
    held = SyncRecord.objects.filter(kind=ObjectKind.INVOICE, state=SyncState.IN_FLIGHT)
    assert held.exists() and held.first().lease_owner  # the dead worker's claim is still on the rows

    world.control.clear_faults()
    consumers()
    time.sleep(LEASE_S)  # the claim lapses...
    sweep()  # ...and the sweeper hands the records to the live consumer
    wait_until(all_synced, 60, "the second consumer to finish the batch")
    books = world.by_number()
    assert sorted(books) == sorted(i.number for i in invoices)
    sends = world.writes("*/invoices")
    # The second worker replayed the dead one's request under the same key (answered from Xero's cache when
    # the first had landed), never a second write.
    assert len({s["idempotency_key"] for s in sends}) == 1
    assert [s["replayed"] for s in sends][1:] == [True] * (len(sends) - 1)
