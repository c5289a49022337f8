"""Embedded mode for real: an SQLite file, SqliteHuey, and a `ledgerlink run_huey` consumer process, the way
`make demo` runs. Invoices issued in one process reach the sandbox through the queue file exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledgerlink.devtools.sandboxes import RunningSandbox

pytestmark = pytest.mark.xdist_group("xero-sandbox")
DRIVER = Path(__file__).with_name("embedded_app.py")


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def test_embedded_sqlite_and_sqlitehuey_sync_through_a_consumer(xero_sandbox: RunningSandbox, tmp_path):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("embedded mode runs in the SQLite pass")
    app = xero_sandbox.control.create_app(["http://127.0.0.1:8000/connections/xero/callback/"])
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")} | {
        "LEDGERLINK_DATA_DIR": str(tmp_path),
        "LEDGERLINK_SQLITE_PATH": str(tmp_path / "ledgerlink.sqlite3"),
        "LEDGERLINK_HUEY_PATH": str(tmp_path / "huey.sqlite3"),
        "XERO_API_URL": xero_sandbox.base_url,
        "XERO_IDENTITY_URL": xero_sandbox.base_url,
        "XERO_CLIENT_ID": app.client_id,
        "XERO_CLIENT_SECRET": app.client_secret,
        "SANDBOX_URL": xero_sandbox.base_url,
        "SANDBOX_TOKEN": xero_sandbox.token,
        "DJANGO_SETTINGS_MODULE": "ledgerlink.settings",
    }
    _run(env, "-m", "ledgerlink", "migrate", "-v", "0")
    seeded = json.loads(_run(env, str(DRIVER), "seed"))
    consumer = subprocess.Popen(
        [sys.executable, "-m", "ledgerlink", "run_huey", "--workers", "2", "--no-periodic", "-q"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        numbers = json.loads(_run(env, str(DRIVER), "issue", seeded["organisation"], "8"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            invoices = xero_sandbox.control.ledger(seeded["tenant"])["Invoices"]
            if len(invoices) >= len(numbers):
                break
            time.sleep(0.3)
        time.sleep(1)  # anything extra (a duplicate) would land now
        invoices = xero_sandbox.control.ledger(seeded["tenant"])["Invoices"]
        assert sorted(i["InvoiceNumber"] for i in invoices) == sorted(numbers)
        states = json.loads(_run(env, str(DRIVER), "states"))
        assert {state for _, state in states} == {"synced"}
    finally:
        consumer.terminate()
        consumer.wait(10)
