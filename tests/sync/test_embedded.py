"""Embedded mode for real: an SQLite file, SqliteHuey, and a `ledgerlink run_huey` consumer process, the way
`make demo` runs. Invoices issued in one process reach the sandbox through the queue file exactly once."""

from __future__ import annotations

import json
import os
import time

import pytest

from ledgerlink.devtools.sandboxes import RunningSandbox

from . import embedded

pytestmark = pytest.mark.xdist_group("xero-sandbox")


def test_embedded_sqlite_and_sqlitehuey_sync_through_a_consumer(xero_sandbox: RunningSandbox, tmp_path):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("embedded mode runs in the SQLite pass")
    env = embedded.environment(xero_sandbox, tmp_path)
    seeded = embedded.install(env)
    consumer = embedded.start_consumer(env, tmp_path)
    try:
        numbers = json.loads(embedded.run(env, str(embedded.DRIVER), "issue", seeded["organisation"], "8"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            invoices = xero_sandbox.control.ledger(seeded["tenant"])["Invoices"]
            if len(invoices) >= len(numbers):
                break
            time.sleep(0.3)
        time.sleep(1)  # anything extra (a duplicate) would land now
        invoices = xero_sandbox.control.ledger(seeded["tenant"])["Invoices"]
        assert sorted(i["InvoiceNumber"] for i in invoices) == sorted(numbers)
        assert embedded.states(env) == {"synced"}
    finally:
        consumer.terminate()
        consumer.wait(10)


def test_the_embedded_database_keeps_its_statement_journals_in_memory(db):
    """Every UPDATE of a record inside a settle's transaction journals the pages it changes, in case the
    statement must be undone alone. In a temporary file those writes were an eighth of a backfill's CPU."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("embedded mode runs in the SQLite pass")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        assert cursor.fetchone()[0] == 2  # MEMORY
