"""Many organisations at once: every organisation connected to its own tenant of one Xero sandbox issues its
invoices while no consumer runs, so the queue holds every organisation's doorbell; then the embedded
product's `run_huey` starts and syncs them all. Each organisation's completion is when the sandbox accepted
its last invoice, from the consumer's start. Reported: the total wall against the floor, and fairness =
slowest completion / median completion.

The floor: Xero's limits per tenant (60 calls a minute, 5 in flight) are independent, so many tenants are
bound only by the app-wide limit (10,000 calls a minute across all tenants) and by the machine's processing
capacity. The app-wide limit forces time only past 10,000 calls; the capacity floor is the CPU the consumer
spent divided by the cores it may use. Whichever is larger is the floor, and the results name it."""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from huey.contrib.djhuey import HUEY

from bench.floor import XeroRules, forced_seconds_best, ratio
from bench.live import embedded_service
from bench.orgs import Org, connected_orgs, draft_body
from ledgerlink.cashflow import services
from ledgerlink.devtools.sandboxes import RunningSandbox
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync import doorbell
from ledgerlink.sync.models import DUE_STATES, SyncRecord, SyncState

APP_PER_MINUTE = 10_000  # Xero's app-wide limit (xero.md 5; the sandbox's app_per_minute)
CUSTOMERS = 2  # per organisation
SETTLE_S = 600.0
TENANT_PREFIX = "Bench Tenant"
BOOT_S = 4.0  # a run_huey process starting on a busy 2-core machine
Progress = Callable[[int], None]


@dataclass(frozen=True)
class TenantsResult:
    organisations: int
    invoices_each: int
    wall_s: float
    completions_s: list[float]
    calls: int
    consumer_cpu_s: float
    cores: int

    def as_json(self) -> dict[str, Any]:
        median = statistics.median(self.completions_s)
        slowest = max(self.completions_s)
        app_floor = forced_seconds_best(self.calls, XeroRules(per_minute=APP_PER_MINUTE))
        capacity_floor = self.consumer_cpu_s / self.cores
        return {
            "organisations": self.organisations,
            "invoices_each": self.invoices_each,
            "invoices": self.organisations * self.invoices_each,
            "calls": self.calls,
            "wall_s": round(self.wall_s, 3),
            "floor_s": round(max(app_floor, capacity_floor), 3),
            "floor_bound_by": "app-wide limit" if app_floor > capacity_floor else "processing capacity",
            "app_limit_forced_s": app_floor,
            "consumer_cpu_s": round(self.consumer_cpu_s, 3),
            "cores": self.cores,
            "wall_ratio": ratio(self.wall_s, max(app_floor, capacity_floor)),
            "completion_median_s": round(median, 3),
            "completion_p90_s": round(
                statistics.quantiles(self.completions_s, n=10, method="inclusive")[-1], 3
            )
            if len(self.completions_s) > 1
            else round(slowest, 3),
            "completion_slowest_s": round(slowest, 3),
            "completion_fastest_s": round(min(self.completions_s), 3),
            "fairness": ratio(slowest, median),
        }


def issue_all(orgs: list[Org], invoices_each: int, progress: Progress) -> None:
    """Every organisation's invoices drafted and issued through cashflow's services (the doorbells wait in
    the queue until the consumer starts)."""
    for done, org in enumerate(orgs, start=1):
        with transaction.atomic():
            for n in range(invoices_each):
                customer = org.customers[n % len(org.customers)]
                draft = services.create_invoice(org.organisation, draft_body(customer.id, org.gst.id, n))
                services.issue_invoice(draft)
        progress(done)


def completions(sandbox: RunningSandbox, orgs: list[Org], since_seq: int, started_at: float) -> list[float]:
    """Seconds from the ring to each tenant's last accepted invoice write (on the sandbox's clock, whose
    reading at the ring is `started_at`)."""
    last: dict[str, float] = {}
    for row in sandbox.control.all_requests(method="PUT", path="*/Invoices", status=200, since=since_seq):
        last[row["tenant_id"]] = max(last.get(row["tenant_id"], 0.0), row["at"])
    missing = [org.tenant_id for org in orgs if org.tenant_id not in last]
    if missing:
        raise AssertionError(f"{len(missing)} organisations never reached the sandbox")
    return [last[org.tenant_id] - started_at for org in orgs]


def connection_ids(orgs: list[Org]) -> list[int]:
    """The organisations' connections, to ring."""
    return list(
        Connection.objects.filter(organisation__in=[org.organisation for org in orgs]).values_list(
            "pk", flat=True
        )
    )


def wait_synced(rung: list[int], expected: int, timeout_s: float) -> None:
    """Until nothing of the rung connections is due any more, then check that `expected` invoices in the
    database are synced (every phase's, so callers count theirs in). The poll reads only the due rows
    through the index a claim uses: counting synced invoices scans the whole table (no index has the kind),
    five times a second, and in `make bench` that table holds every earlier phase's records too, on the
    cores the consumer being timed runs on."""
    deadline = time.monotonic() + timeout_s
    due = SyncRecord.objects.filter(connection_id__in=rung, state__in=DUE_STATES)
    while due.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{due.count()} records still due after {timeout_s:.0f}s")
        time.sleep(0.2)
    synced = SyncRecord.objects.filter(kind="invoice", state=SyncState.SYNCED).count()
    if synced < expected:
        raise AssertionError(f"{synced} of {expected} invoices synced; the rest wait for the user")


@contextlib.contextmanager
def rung_at_once(
    connection_ids: list[int], consumers: contextlib.AbstractContextManager[object]
) -> Iterator[float]:
    """Drop the doorbells the issuing rang, start the consumers, give them `BOOT_S` to start (so a run with
    more processes is not charged for starting them on the same cores), then ring every connection at once;
    yields that moment (perf_counter)."""
    HUEY.flush()
    with consumers:
        time.sleep(BOOT_S)
        started = time.perf_counter()
        for connection_id in connection_ids:
            doorbell.ring(connection_id)
        yield started


def run_tenants(
    settings: Any,
    sandbox: RunningSandbox,
    out: Path,
    *,
    organisations: int,
    invoices_each: int,
    progress: Progress = lambda _: None,
) -> TenantsResult:
    orgs = connected_orgs(settings, sandbox, organisations, CUSTOMERS, prefix=TENANT_PREFIX)
    before = SyncRecord.objects.filter(kind="invoice", state=SyncState.SYNCED).count()
    issue_all(orgs, invoices_each, progress)
    since = max((row["seq"] for row in sandbox.control.all_requests()), default=0)
    children_cpu = _children_cpu()
    consumer = embedded_service(
        out, settings, None, queue=Path(settings.HUEY["filename"]).name, periodic=False
    )
    rung = connection_ids(orgs)
    with rung_at_once(rung, consumer) as started:
        started_at = sandbox.control.clock() - (time.perf_counter() - started)
        wait_synced(rung, before + organisations * invoices_each, SETTLE_S)
        wall_s = time.perf_counter() - started
    calls = len(sandbox.control.all_requests(since=since))
    return TenantsResult(
        organisations=organisations,
        invoices_each=invoices_each,
        wall_s=wall_s,
        completions_s=completions(sandbox, orgs, since, started_at),
        calls=calls,
        consumer_cpu_s=_children_cpu() - children_cpu,
        cores=os.cpu_count() or 1,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children (the consumers, once stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
