"""`make chaos` at a small size, through the same entry point and code: a few hundred objects on both
ledgers, two consumers SIGKILLed, every ledger fault kind switched on, a database cut, Redis restarted, the
service stopped and started, the soak beside it; the independent checker must find every object exactly
once. Runs in the PostgreSQL pass (the campaign makes a database of its own on the same server); with
CI=true a missing PostgreSQL or redis-server is a failure, not a skip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.distributed, pytest.mark.slow, pytest.mark.xdist_group("chaos-smoke")]


def _require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


def _campaign_database(url: str) -> str:
    """A database of the campaign's own beside the test database (it drops and recreates it)."""
    parts = urlsplit(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return urlunsplit((parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}_chaos_{worker}", "", ""))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("the campaign runs on PostgreSQL: the PostgreSQL + Redis pass runs it")
    _require(shutil.which("redis-server") is not None, "redis-server (the campaign restarts its own)")
    out = tmp_path_factory.mktemp("chaos")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    argv = [sys.executable, "-m", "reliability.run", "--smoke", "--out", str(out)]
    argv += ["--database-url", _campaign_database(url)]
    # The smoke's convergence allowance is 300 s (`--smoke`): on a loaded CI machine the sweeper's minute,
    # a lease lapsing after a kill and a retry's backoff can add up past the quiet machine's ~60 s.
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert (out / "report.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return {**json.loads((out / "report.json").read_text()), "exit": done.returncode, "log": done.stdout}


def test_every_object_is_in_each_ledger_exactly_once_after_kills_and_faults(report):
    verdicts = {
        provider: (figures["duplicates"], figures["missing"], figures["extra"], figures["mismatches"])
        for provider, figures in report["providers"].items()
    }
    # Every provider's verdict and the log's tail in the message: a run that did not converge says where.
    context = (verdicts, {p: f["problems"] for p, f in report["providers"].items()}, report["log"][-3000:])
    assert all(problems == (0, 0, 0, 0) for problems in verdicts.values()), context
    assert all(f["converge_s"] is not None for f in report["providers"].values()), context
    assert report["exit"] == 0
    objects = sum(figures["objects"] for figures in report["providers"].values())
    assert objects >= 200  # a few hundred CashFlow objects checked, contacts besides


def test_the_faults_really_happened(report):
    xero, quickbooks = report["providers"]["xero"], report["providers"]["quickbooks"]
    assert xero["kills"] == 2 and xero["db_cuts"] == 1
    assert xero["redis_restarts"] == 1 and xero["service_restarts"] == 1
    assert report["chaos_errors"] == []
    fired = sum(xero["faults"].values()) + sum(quickbooks["faults"].values())
    assert fired >= 10  # rules that fired, as each sandbox counted them
    assert "stale_sync_token" in quickbooks["faults"] and "stale_sync_token" not in xero["faults"]


def test_the_soak_lost_nothing_it_was_told_was_accepted(report):
    soak = report["soak"]
    assert soak["requests"] > 0 and soak["accepted_invoices"] > 0
    assert (soak["errors"], soak["lost"]) == (0, 0), soak
