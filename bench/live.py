"""Figure 2: live sync latency on the embedded default, for real: gunicorn serving the CashFlow API and a
`run_huey` consumer, both on the bench's SQLite file, syncing to a Xero sandbox tenant. Invoices are issued
through the API at a steady rate; a side thread reads the tenant's books every `POLL_S` and notes when each
invoice number first appears. Latency = that moment - the moment the issue call returned 2xx (so each
figure is high by at most one poll interval)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from django.db import connection as db
from django.test import Client

from bench.dataset import customer_input
from bench.env import bench_environment
from ledgerlink.cashflow import apikeys, services
from ledgerlink.devtools.ports import free_port
from ledgerlink.devtools.sandboxes import RunningSandbox
from tests.sync.xero_world import configure, connect_through_views, map_from_suggestion

POLL_S = 0.05
SETTLE_S = 30.0  # how long the last invoice may take before the run counts it as lost
Progress = Callable[[int], None]


@dataclass(frozen=True)
class LiveResult:
    invoices: int
    rate_per_s: float
    latencies_s: list[float]
    poll_s: float = POLL_S

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the latencies."""
        ordered = sorted(self.latencies_s)
        rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
        return round(ordered[rank - 1], 3)


@dataclass
class LiveOrganisation:
    api_key: str
    customer_ids: list[str]
    tax_rate_id: str
    tenant_id: str


def prepare(settings: Any, sandbox: RunningSandbox, customers: int) -> LiveOrganisation:
    """An organisation with a few customers, connected through the views and mapped, and an API key."""
    app = configure(settings, sandbox)
    organisation = services.create_organisation("Bench Live Solar", "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    made = [services.create_customer(organisation, customer_input(n)) for n in range(customers)]
    tenant_id = sandbox.control.create_tenant("AU", "Bench Live Solar")
    connection = connect_through_views(Client(), sandbox, app, organisation, tenant_id)
    map_from_suggestion(connection, gst)
    key = apikeys.create_api_key(organisation, "bench live")[1]
    return LiveOrganisation(key, [str(c.id) for c in made], str(gst.id), tenant_id)


def ledger_settings(settings: Any) -> dict[str, str]:
    """The Xero app and sandbox this process is configured for, as environment for child processes."""
    names = ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_AUTHORIZE_URL", "XERO_IDENTITY_URL", "XERO_API_URL")
    return {"LEDGERLINK_PUBLIC_URL": settings.PUBLIC_URL, **{name: getattr(settings, name) for name in names}}


@contextlib.contextmanager
def embedded_service(
    out: Path,
    settings: Any,
    port: int | None,
    *,
    queue: str = "live-huey.sqlite3",
    consumers: int = 1,
) -> Iterator[str]:
    """gunicorn (unless `port` is None) + `consumers` run_huey processes on the bench database and the
    huey queue file `queue`, pointed at the same sandbox as this process."""
    env = {
        **os.environ,
        **bench_environment(out),
        "LEDGERLINK_HUEY_PATH": str(out / queue),
        **ledger_settings(settings),
    }
    db.close()  # this process only reads the sandbox from here on
    commands = [[sys.executable, "-m", "ledgerlink", "run_huey"] for _ in range(consumers)]
    if port is not None:
        web = [sys.executable, "-m", "gunicorn", "ledgerlink.wsgi", "--bind", f"127.0.0.1:{port}"]
        commands.append([*web, "--workers", "2", "--threads", "4"])
    logs = [(out / f"live-{n}.log").open("w") for n in range(len(commands))]
    processes = [
        subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        for argv, log in zip(commands, logs, strict=True)
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        if port is not None:
            _wait_for(f"{base}/api/v1/openapi.json", processes)
        yield base
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def _wait_for(url: str, processes: list[subprocess.Popen[bytes]], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("the web server or the worker exited at start (see bench/out/live-*.log)")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).ok:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f}s")


class BookWatcher:
    """Notes the first moment each invoice number is in the tenant's books."""

    def __init__(self, sandbox: RunningSandbox, tenant_id: str) -> None:
        self.sandbox, self.tenant_id = sandbox, tenant_id
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> BookWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            books = self.sandbox.control.ledger(self.tenant_id)
            now = time.perf_counter()
            for invoice in books["Invoices"]:
                self.seen.setdefault(invoice["InvoiceNumber"], now)

    def wait_for(self, numbers: list[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(n in self.seen for n in numbers):
            time.sleep(POLL_S)


def issue_invoice(http: requests.Session, base: str, org: LiveOrganisation, n: int) -> tuple[str, float]:
    """Draft then issue through the API; returns the number and when the issue call answered 2xx."""
    body = {
        "customer_id": org.customer_ids[n % len(org.customer_ids)],
        "kind": "custom",
        "due_date": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
        "tax_inclusive": True,
        "lines": [
            {
                "line_type": "service",
                "description": f"Live {n}",
                "unit_amount": f"{200 + n}.50",
                "tax_rate_id": org.tax_rate_id,
            }
        ],
    }
    draft = http.post(
        f"{base}/api/v1/invoices", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30
    )
    draft.raise_for_status()
    issued = http.post(
        f"{base}/api/v1/invoices/{draft.json()['id']}/issue",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    issued.raise_for_status()
    return str(issued.json()["number"]), time.perf_counter()


def measure_live(
    base: str,
    sandbox: RunningSandbox,
    org: LiveOrganisation,
    *,
    invoices: int,
    rate_per_s: float,
    warmup: int,
    progress: Progress,
) -> LiveResult:
    """`warmup` invoices first (their customers reach the ledger), then `invoices` at `rate_per_s`."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {org.api_key}"
    with BookWatcher(sandbox, org.tenant_id) as watcher:
        warm = [issue_invoice(http, base, org, n)[0] for n in range(warmup)]
        watcher.wait_for(warm, SETTLE_S)
        issued: dict[str, float] = {}
        started = time.perf_counter()
        for n in range(invoices):
            time.sleep(max(0.0, started + n / rate_per_s - time.perf_counter()))
            number, answered = issue_invoice(http, base, org, warmup + n)
            issued[number] = answered
            progress(n + 1)
        watcher.wait_for(list(issued), SETTLE_S)
    missing = [number for number in issued if number not in watcher.seen]
    if missing:
        raise AssertionError(f"{len(missing)} invoices never reached the sandbox: {missing[:5]}")
    latencies = [round(max(watcher.seen[number] - answered, 0.0), 3) for number, answered in issued.items()]
    return LiveResult(invoices, rate_per_s, latencies)


def run_live(
    settings: Any, sandbox: RunningSandbox, out: Path, *, invoices: int, rate_per_s: float, progress: Progress
) -> LiveResult:
    org = prepare(settings, sandbox, customers=3)
    with embedded_service(out, settings, free_port()) as base:
        return measure_live(
            base, sandbox, org, invoices=invoices, rate_per_s=rate_per_s, warmup=3, progress=progress
        )
