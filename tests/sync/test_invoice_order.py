"""Every object of an invoice reaches the ledger in CashFlow's order, however it is issued: 24 invoices paid,
partly refunded, charged back or undone and re-paid, then cancelled, from four API clients at once, synced by
two consumers; five rounds, on SQLite (embedded mode, SqliteHuey) and on PostgreSQL (Redis). The sandbox's
books must equal CashFlow's for every invoice: total, paid, credited, due and status, to the cent.

Before per-invoice ordering, 2 of 24 invoices ended wrong this way while the console said "Synced": a
credit note allocated before the refund's re-post of its payment, or a payment sent after the allocation."""

from __future__ import annotations

import json
import os
import time

import pytest

from ledgerlink.cashflow import services
from ledgerlink.devtools.sandboxes import RunningSandbox
from ledgerlink.sync.models import SyncRecord, SyncState

from . import embedded, scenarios
from .distributed import all_synced, consumers, doorbells, queue_name, wait_until, world

__all__ = ["consumers", "doorbells", "queue_name", "world"]  # fixtures, used by name

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("xero-sandbox")]

INVOICES, CLIENTS, ROUNDS = 24, 4, 5
# The engine's limiter and the tenant's limits both run ten times faster: the test is about order, and at
# Xero's 60 calls a minute a round (one call per refund delete and per allocation) would take minutes.
SCALE = 10
FAST_TENANT = {"per_minute": 60 * SCALE, "app_per_minute": 10_000 * SCALE}


def _unsettled_records() -> str:
    rows = SyncRecord.objects.exclude(state=SyncState.SYNCED).values_list("kind", "state", "last_error")
    return "\n".join(map(str, rows))


@pytest.mark.distributed
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_four_clients_two_consumers_postgresql_books_match_to_the_cent(world, consumers, round_):
    world.control.set_limits(world.tenant_id, **FAST_TENANT)
    consumers(LEDGERLINK_SYNC_TIME_SCALE=str(SCALE))
    consumers(LEDGERLINK_SYNC_TIME_SCALE=str(SCALE))
    customer = services.create_customer(
        world.organisation, services.CustomerInput(name="Oscar", email="oscar@example.com")
    )
    scenarios.run(world.organisation, customer, world.gst, INVOICES, CLIENTS)
    try:
        wait_until(all_synced, 180, "every record to sync through two consumers")
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}\n{_unsettled_records()}") from None
    expected = scenarios.expected_books(world.organisation)
    assert len(expected) == INVOICES
    assert scenarios.mismatches(expected, world.ledger()) == []


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_four_clients_one_embedded_consumer_sqlite_books_match_to_the_cent(
    xero_sandbox: RunningSandbox, tmp_path, round_
):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("embedded mode runs in the SQLite pass")
    env = embedded.environment(xero_sandbox, tmp_path, LEDGERLINK_SYNC_TIME_SCALE=str(SCALE))
    seeded = embedded.install(env)
    xero_sandbox.control.set_limits(seeded["tenant"], **FAST_TENANT)
    consumer = embedded.start_consumer(env, tmp_path)
    try:
        driver = str(embedded.DRIVER)
        expected = json.loads(
            embedded.run(env, driver, "scenarios", seeded["organisation"], str(INVOICES), str(CLIENTS))
        )
        deadline = time.monotonic() + 180
        while embedded.states(env) != {"synced"}:
            assert time.monotonic() < deadline, embedded.run(env, driver, "states")
            time.sleep(1)
    finally:
        consumer.terminate()
        consumer.wait(10)
    assert len(expected) == INVOICES
    assert scenarios.mismatches(expected, xero_sandbox.control.ledger(seeded["tenant"])) == []
