"""Fixtures for distributed mode: PostgreSQL, this test's own Redis queue, `ledgerlink run_huey` consumer
processes on the test database, and the worlds they sync: `world` (one organisation on the Xero sandbox, with
Xero's own reads) and `ledger_worlds` (one organisation on each sandboxed ledger, built by the shared
harnesses, read provider-neutrally). Skipped in the SQLite pass (an embedded database cannot be shared with
other processes this way); with CI=true a missing Redis is a failure, not a skip."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection as db
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage
from ledgers.harness import HARNESSES

from ledgerlink.devtools.services import reachable
from ledgerlink.sync.models import SyncRecord, SyncState

from .ledger_world import COMPANIES, LedgerWorld
from .ledger_world import build_world as build_ledger_world
from .xero_world import XeroWorld, build_world

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LEASE_S = 6  # consumers' lease: short, so a killed worker's claim lapses within the test
# Where each ledger is and which app signs in: the consumers reach the same sandboxes as this process.
LEDGER_SETTINGS = (
    "XERO_API_URL",
    "XERO_IDENTITY_URL",
    "XERO_CLIENT_ID",
    "XERO_CLIENT_SECRET",
    "QBO_API_URL",
    "QBO_TOKEN_URL",
    "QBO_REVOKE_URL",
    "QBO_CLIENT_ID",
    "QBO_CLIENT_SECRET",
)
# The sandboxed ledgers' AU companies (Tally lives in the test process only), by provider.
DISTRIBUTED_COMPANIES = {"xero": "xero", "quickbooks": "quickbooks-au"}


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
def ledger_worlds(request, transactional_db, settings, queue_name) -> Iterator[dict[str, LedgerWorld]]:
    """One AU installer per sandboxed ledger, each connected through the views to a tenant (company) of its
    own and mapped from the suggestion: the shared harnesses' world (ledger_world.py), by provider."""
    worlds = {}
    for provider, key in DISTRIBUTED_COMPANIES.items():
        company = COMPANIES[key]
        harness = HARNESSES[company.harness](request)
        harness.configure(settings)
        worlds[provider] = build_ledger_world(harness, company)
    yield worlds
    for built in worlds.values():
        built.harness.clear_faults()


@pytest.fixture
def consumers(queue_name, tmp_path, transactional_db) -> Iterator[Callable[[], subprocess.Popen]]:
    """Start `ledgerlink run_huey` consumers on the test database and this test's Redis queue; each is
    stopped at the end (only the processes started here). The ledgers' settings are read at each start, so
    a consumer reaches whatever sandboxes and apps the test's worlds configured before it."""
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
    }

    logs: list[Path] = []

    def start(**extra_env: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "ledgerlink", "run_huey", "--workers", "2", "--no-periodic", "-q"]
        logs.append(Path(tmp_path) / f"consumer-{len(logs) + 1}.log")
        ledgers = {name: getattr(django_settings, name) for name in LEDGER_SETTINGS}
        with logs[-1].open("wb") as stderr:
            process = subprocess.Popen(
                command,
                env={**env, **ledgers, **extra_env},
                cwd=Path(tmp_path),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
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
    # Shown by pytest only when the test failed: what each consumer said.
    for path in logs:
        print(f"--- {path.name} (last 40 lines) ---")
        print("\n".join(path.read_text(errors="replace").splitlines()[-40:]))


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    summary = record_summary()
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; records now:\n{summary}")


def record_summary() -> str:
    """Each sync record's kind, state, lease and last error: what a stalled test was waiting on."""
    rows = SyncRecord.objects.order_by("id").values_list(
        "id", "kind", "state", "lease_owner", "next_attempt_at", "waiting_on_id", "last_error"
    )
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


def all_synced() -> bool:
    states = set(SyncRecord.objects.values_list("state", flat=True))
    return bool(states) and states == {SyncState.SYNCED}
