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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from django.db import connection as db
from django.test import Client

from bench.dataset import customer_input
from bench.env import bench_environment
from bench.orgs import connected_orgs
from ledgerlink.cashflow import apikeys, services
from ledgerlink.devtools.ports import free_port
from ledgerlink.devtools.sandboxes import RunningSandbox
from tests.sync.xero_world import configure, connect_through_views, map_from_suggestion

POLL_S = 0.05
SETTLE_S = 30.0  # how long the last invoice may take before the run counts it as lost
ISSUERS = 8  # threads issuing through the API
Progress = Callable[[int], None]


@dataclass(frozen=True)
class LiveResult:
    invoices: int
    rate_per_s: float
    latencies_s: list[float]
    poll_s: float = POLL_S
    organisations: int = 1

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
    names = (
        "XERO_CLIENT_ID",
        "XERO_CLIENT_SECRET",
        "XERO_AUTHORIZE_URL",
        "XERO_IDENTITY_URL",
        "XERO_API_URL",
    )
    return {"LEDGERLINK_PUBLIC_URL": settings.PUBLIC_URL, **{name: getattr(settings, name) for name in names}}


@contextlib.contextmanager
def embedded_service(
    out: Path,
    settings: Any,
    port: int | None,
    *,
    queue: str = "live-huey.sqlite3",
    consumers: int = 1,
    periodic: bool = True,
) -> Iterator[str]:
    """gunicorn (unless `port` is None) + `consumers` run_huey processes on the bench database and the
    huey queue file `queue`, pointed at the same sandbox as this process. Without `periodic` no consumer
    runs the schedules (the sweeper would ring every connection with due records the moment it starts)."""
    env = {
        **os.environ,
        **bench_environment(out),
        "LEDGERLINK_HUEY_PATH": str(out / queue),
        **ledger_settings(settings),
    }
    db.close()  # this process only reads the sandbox from here on
    consumer = [sys.executable, "-m", "ledgerlink", "run_huey", *([] if periodic else ["--no-periodic"])]
    commands = [consumer for _ in range(consumers)]
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
    """Notes the first moment each (tenant, invoice number) is in the tenants' books. One look at the
    sandbox's request log per poll says which tenants took an invoice write since the last; only their books
    are read, so fifty tenants cost no more polling than one."""

    def __init__(self, sandbox: RunningSandbox, tenant_ids: list[str]) -> None:
        self.sandbox, self.tenant_ids = sandbox, set(tenant_ids)
        self.seen: dict[tuple[str, str], float] = {}
        self._since = max((row["seq"] for row in sandbox.control.all_requests()), default=0)
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
            writes = self.sandbox.control.all_requests(method="PUT", path="*/Invoices", since=self._since)
            self._since = max((row["seq"] for row in writes), default=self._since)
            for tenant_id in {row["tenant_id"] for row in writes} & self.tenant_ids:
                books = self.sandbox.control.ledger(tenant_id)
                now = time.perf_counter()
                for invoice in books["Invoices"]:
                    self.seen.setdefault((tenant_id, invoice["InvoiceNumber"]), now)

    def wait_for(self, keys: list[tuple[str, str]], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(key in self.seen for key in keys):
            time.sleep(POLL_S)


def issue_invoice(base: str, org: LiveOrganisation, n: int) -> tuple[str, float]:
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
    headers = {"Authorization": f"Bearer {org.api_key}"}
    draft = requests.post(
        f"{base}/api/v1/invoices",
        json=body,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    draft.raise_for_status()
    issued = requests.post(
        f"{base}/api/v1/invoices/{draft.json()['id']}/issue",
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    issued.raise_for_status()
    return str(issued.json()["number"]), time.perf_counter()


def measure_live(
    base: str,
    sandbox: RunningSandbox,
    orgs: list[LiveOrganisation],
    *,
    invoices: int,
    rate_per_s: float,
    progress: Progress,
) -> LiveResult:
    """First one invoice per customer of every organisation (so its customers reach the ledger), then
    `invoices` at `rate_per_s`, organisation after organisation in turn. Issues run on a few threads so a
    slow answer never holds back the next invoice's moment."""
    warmup = [(org, n) for org in orgs for n in range(len(org.customer_ids))]
    with (
        BookWatcher(sandbox, [org.tenant_id for org in orgs]) as watcher,
        ThreadPoolExecutor(ISSUERS) as pool,
    ):
        warm = pool.map(lambda job: (job[0].tenant_id, issue_invoice(base, *job)[0]), warmup)
        watcher.wait_for(list(warm), SETTLE_S)
        started = time.perf_counter()

        def issue(n: int) -> tuple[tuple[str, str], float]:
            time.sleep(max(0.0, started + n / rate_per_s - time.perf_counter()))
            org = orgs[n % len(orgs)]
            number, answered = issue_invoice(base, org, len(org.customer_ids) + n)
            return (org.tenant_id, number), answered

        futures = [pool.submit(issue, n) for n in range(invoices)]
        issued: dict[tuple[str, str], float] = {}
        for done, future in enumerate(futures, start=1):
            key, answered = future.result()
            issued[key] = answered
            progress(done)
        watcher.wait_for(list(issued), SETTLE_S)
    missing = [key for key in issued if key not in watcher.seen]
    if missing:
        raise AssertionError(f"{len(missing)} invoices never reached the sandbox: {missing[:5]}")
    latencies = [round(max(watcher.seen[key] - answered, 0.0), 3) for key, answered in issued.items()]
    return LiveResult(invoices, rate_per_s, latencies, organisations=len(orgs))


def prepare_many(settings: Any, sandbox: RunningSandbox, organisations: int) -> list[LiveOrganisation]:
    """`organisations` connected and mapped at once (bench/orgs.py), one customer and an API key each."""
    return [
        LiveOrganisation(
            apikeys.create_api_key(org.organisation, "bench live")[1],
            [str(org.customers[0].id)],
            str(org.gst.id),
            org.tenant_id,
        )
        for org in connected_orgs(settings, sandbox, organisations, 1, prefix="Bench Live")
    ]


def run_live(
    settings: Any, sandbox: RunningSandbox, out: Path, *, invoices: int, rate_per_s: float, progress: Progress
) -> LiveResult:
    org = prepare(settings, sandbox, customers=3)
    with embedded_service(out, settings, free_port()) as base:
        return measure_live(base, sandbox, [org], invoices=invoices, rate_per_s=rate_per_s, progress=progress)


def run_live_many(
    settings: Any,
    sandbox: RunningSandbox,
    service: Callable[[], contextlib.AbstractContextManager[str]],
    *,
    organisations: int,
    invoices: int,
    rate_per_s: float,
    progress: Progress = lambda _: None,
) -> LiveResult:
    """Live latency across many organisations, on whichever deployment `service` starts (its base URL)."""
    orgs = prepare_many(settings, sandbox, organisations)
    with service() as base:
        return measure_live(base, sandbox, orgs, invoices=invoices, rate_per_s=rate_per_s, progress=progress)
