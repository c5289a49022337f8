"""Distributed mode for real: PostgreSQL, Redis (RedisHuey) and `ledgerlink run_huey` consumer processes
syncing one organisation at once against the Xero sandbox, and a mixed backlog for a Xero and a QuickBooks
organisation side by side. Runs in the PostgreSQL pass; with CI=true a
missing Redis is a failure, not a skip. In the SQLite pass these tests are skipped (not a missing service:
an embedded database cannot be shared with other processes this way)."""

from __future__ import annotations

import signal
import time
from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.sweeper import sweep

from .conftest import issue
from .distributed import (
    LEASE_S,
    all_synced,
    consumers,
    doorbells,
    ledger_worlds,
    queue_name,
    wait_until,
    world,
)

__all__ = ["consumers", "doorbells", "ledger_worlds", "queue_name", "world"]  # fixtures, used by name

pytestmark = [pytest.mark.distributed, pytest.mark.xdist_group("xero-sandbox")]


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


def test_two_consumers_sync_a_mixed_xero_and_quickbooks_backlog_exactly_once(ledger_worlds, consumers):
    # Fifteen one-line invoices and one priced by the watt per organisation, a third of them part paid. The
    # backlog is queued before any consumer runs, so both consumers (four worker threads) take from
    # one Redis queue holding both ledgers' doorbells, and race for each organisation's records.
    backlog = {}
    for provider, built in ledger_worlds.items():
        invoices = [
            issue(built.organisation, built.customer, built.gst, f"{500 + n}.{n:02}") for n in range(15)
        ]
        # 6,650 W at 0.0333 a watt: 221.445 rounds half up to 221.45 (four-place unit amounts).
        invoices.append(issue(built.organisation, built.customer, built.gst, "0.0333", quantity="6650"))
        for invoice in invoices[::3]:
            services.record_payment(invoice, Decimal("20.00"), "card")
        backlog[provider] = invoices
    consumers(), consumers()
    wait_until(all_synced, 120, "both organisations' backlogs to sync through the consumers")

    for provider, built in ledger_worlds.items():
        harness, tenant = built.harness, built.tenant_id
        invoices = backlog[provider]
        numbers = harness.invoice_numbers(tenant)
        assert sorted(numbers) == sorted(i.number for i in invoices), f"{provider}: duplicate or missing"
        for invoice in invoices:
            invoice.refresh_from_db()
            books = built.books(invoice.number)
            assert (books.total, books.amount_due) == (invoice.total, invoice.total - invoice.amount_paid), (
                provider,
                invoice.number,
            )
        assert list(harness.customer_numbers(tenant)) == ["Ada Lovelace"], provider  # one customer
        assert harness.calls(tenant, status=429) == 0, f"{provider} throttled the consumers"
        # Each ledger saw only its own organisation's records, each record once.
        records = SyncRecord.objects.filter(connection=built.connection)
        assert records.filter(kind=ObjectKind.INVOICE).count() == len(invoices)
        assert records.filter(kind=ObjectKind.PAYMENT).count() == len(invoices[::3])
