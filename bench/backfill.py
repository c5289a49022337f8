"""Figure 1 (and 4): the product's historical push of an organisation's books into a Xero sandbox tenant, a
third of whose customers are already contacts there. Connects through the ledgers' real views, maps from the
suggestion, starts the push and drives the real worker (`sync_connection`) exactly as huey would: run until
nothing is due, waiting out each `resume_in_s`. Counts every call, times it, takes the peak RSS, and checks
the tenant's books: every object exactly once."""

from __future__ import annotations

import contextlib
import gc
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection as db
from django.test import Client, override_settings
from django.utils import timezone

from bench import memory
from bench.calls import CallTally, last_seq, sandbox_calls
from bench.cpu import work_cpu_s
from bench.dataset import Books, Spec
from bench.floor import (
    XERO,
    BackfillShape,
    Floor,
    calls_floor,
    forced_seconds,
    forced_seconds_best,
    ratio,
)
from bench.xero_api import SimpleXero, seed_contacts
from ledgerlink.cashflow.models import Invoice, Payment
from ledgerlink.devtools.sandboxes import RunningSandbox, SandboxApp
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.tasks import freeze_startup_objects
from ledgerlink.sync.worker import RunReport, sync_connection
from tests.sync.xero_world import an_admin, configure, connect_through_views, map_from_suggestion

OPEN_STATES = (SyncState.PENDING, SyncState.RETRYING, SyncState.IN_FLIGHT)
IDLE_GAP_S = 2.0  # a pause between two calls longer than this is the engine waiting, not working
STUCK_AFTER_S = 600.0  # a due record this far away means the push cannot finish by itself: fail loudly
Progress = Callable[[int], None]


class BenchFailure(AssertionError):
    """The run did not do what the product promises (a duplicate, a record left behind)."""


@dataclass(frozen=True)
class BenchLedger:
    """What the backfill needs of one ledger: point the product at its sandbox (a fresh OAuth app), seed a
    tenant with the customers already there (returns the tenant and the request-log marker after the
    seeding), connect through the real views, check the tenant's books, and the floor with the time its
    rate limits force (sandbox seconds, best and worst window alignment)."""

    provider: str
    configure: Callable[[Any, RunningSandbox], SandboxApp]
    seed: Callable[[RunningSandbox, str, Books, Spec], tuple[str, int]]
    # (client, sandbox, app, organisation, tenant id, admin=): connect through the views as that admin
    connect: Callable[..., Connection]
    check_ledger: Callable[[RunningSandbox, str, object, Spec], None]
    floor: Callable[[BackfillShape], Floor]
    forced_best: Callable[[Floor, BackfillShape], float]
    forced_worst: Callable[[Floor, BackfillShape], float]


@dataclass
class BackfillResult:
    invoices: int
    calls: int
    api_calls: int
    identity_calls: int
    floor: Floor
    wall_s: float
    forced_s: float  # at the best window alignment
    forced_s_worst: float
    cpu_s: float
    peak_rss_mb: float | None
    runs: int
    time_scale: float
    rate_limited: int = 0  # calls the sandbox refused with 429
    by_endpoint: dict[str, int] = field(default_factory=dict)
    idle_gaps_s: list[float] = field(default_factory=list)  # real seconds with no call, when over IDLE_GAP_S

    @property
    def calls_ratio(self) -> float | None:
        return ratio(self.calls, self.floor.total)

    @property
    def wall_ratio(self) -> float | None:
        return ratio(self.wall_s, self.forced_s)

    @property
    def wall_ratio_worst(self) -> float | None:
        return ratio(self.wall_s, self.forced_s_worst)


def contact_body(customer: Any) -> dict[str, str]:
    return {"Name": customer.name, "EmailAddress": customer.email}


def seeded_tenant(sandbox: RunningSandbox, name: str, books: Books, spec: Spec) -> tuple[str, int]:
    """A fresh AU tenant holding the customers already in the ledger, created through the Accounting API by
    a separate app (its calls count against that app, not the connector). Returns (tenant id, log marker)."""
    tenant_id = sandbox.control.create_tenant("AU", name)
    seeder = SimpleXero(sandbox, tenant_id)
    seed_contacts(seeder, [contact_body(c) for c in books.already_in_ledger(spec)])
    return tenant_id, last_seq(sandbox.control, tenant_id)


def drain(connection_id: object) -> list[RunReport]:
    """Run the worker until nothing is due, sleeping out each hand-over as huey's delayed doorbell would."""
    reports = []
    while True:
        report = sync_connection(connection_id)
        reports.append(report)
        due = SyncRecord.objects.filter(connection_id=connection_id, state__in=OPEN_STATES)
        first = due.order_by("next_attempt_at").first()
        if first is None:
            return reports
        wait = max(report.resume_in_s or 0.0, (first.next_attempt_at - timezone.now()).total_seconds())
        if wait > STUCK_AFTER_S:
            raise BenchFailure(f"{due.count()} records left waiting: {first.kind} {first.last_error!r}")
        time.sleep(max(wait, 0.0))


@contextlib.contextmanager
def started_consumer() -> Iterator[None]:
    """The bench process as a consumer is once started: what lives now (Django, the books just built) frozen
    out of the collector's sight, as a consumer's startup hook does (sync/tasks.py), then let go after."""
    freeze_startup_objects()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def watching(connection_id: object, progress: Progress, every_s: float = 0.5) -> Iterator[None]:
    """Report synced invoices to `progress` from a side thread (its own read-only database connection)."""
    stop = threading.Event()

    def watch() -> None:
        try:
            while not stop.wait(every_s):
                synced = SyncRecord.objects.filter(
                    connection_id=connection_id, kind="invoice", state=SyncState.SYNCED
                ).count()
                progress(synced)
        finally:
            db.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_backfill(
    settings: Any,
    sandbox: RunningSandbox,
    books: Books,
    spec: Spec,
    *,
    time_scale: float,
    progress: Progress = lambda _: None,
    ledger: BenchLedger | None = None,
) -> BackfillResult:
    """Connect, map, push every historical invoice and drain; measured from the first connect call."""
    ledger = ledger or XERO_BENCH
    app = ledger.configure(settings, sandbox)
    tenant_id, marker = ledger.seed(sandbox, "Bench Roofs (backfill)", books, spec)
    # The engine's limiter measures Xero's minute and day at the sandbox's scale (its own setting).
    engine_time = override_settings(LEDGERLINK_SYNC_TIME_SCALE=time_scale)
    admin = an_admin(books.organisation)  # signed up before: its password hash is not the backfill's CPU
    with CallTally() as tally, memory.peak_rss() as peak, engine_time, started_consumer():
        sandbox.control.open_window(tenant_id, app.client_id)  # the baseline starts at this phase too
        started, cpu_started = time.perf_counter(), work_cpu_s()
        connection = ledger.connect(Client(), sandbox, app, books.organisation, tenant_id, admin=admin)
        map_from_suggestion(connection, books.gst)
        start_push(books.organisation.pk, Selection())
        with watching(connection.pk, progress):
            reports = drain(connection.pk)
            # Read while the progress watcher still lives, so its CPU is among the bench's threads'.
            wall_s = time.perf_counter() - started
            cpu_s = work_cpu_s() - cpu_started
    progress(spec.invoices)
    api_calls = sandbox_calls(sandbox.control, tenant_id, marker)
    if api_calls != tally.api_calls:
        raise BenchFailure(f"the sandbox logged {api_calls} API calls, the connector made {tally.api_calls}")
    check_books(sandbox, tenant_id, connection, spec, ledger)
    shape = shape_of(spec)
    floor = ledger.floor(shape)
    return BackfillResult(
        invoices=spec.invoices,
        calls=api_calls + tally.identity_calls,
        api_calls=api_calls,
        identity_calls=tally.identity_calls,
        floor=floor,
        wall_s=round(wall_s, 3),
        forced_s=round(ledger.forced_best(floor, shape) / time_scale, 3),
        forced_s_worst=round(ledger.forced_worst(floor, shape) / time_scale, 3),
        cpu_s=round(cpu_s, 3),
        peak_rss_mb=peak.megabytes,
        runs=len(reports),
        time_scale=time_scale,
        rate_limited=sandbox.control.count(tenant_id, since=marker, status=429),
        by_endpoint=dict(sorted(tally.by_endpoint.items())),
        idle_gaps_s=idle_gaps(sandbox, tenant_id, marker, time_scale),
    )


def idle_gaps(sandbox: RunningSandbox, tenant_id: str, marker: int, time_scale: float) -> list[float]:
    """The pauses between consecutive calls in the tenant's log, in real seconds (the log's clock is the
    sandbox's): where the run waited for the rate budget."""
    stamps = [row["at"] for row in sandbox.control.requests(tenant_id, since=marker)]
    gaps = [(later - earlier) / time_scale for earlier, later in itertools.pairwise(stamps)]
    return [round(gap, 1) for gap in gaps if gap > IDLE_GAP_S]


def shape_of(spec: Spec) -> BackfillShape:
    return BackfillShape(spec.invoices, spec.payments, spec.customers, spec.existing_contacts)


def check_books(
    sandbox: RunningSandbox, tenant_id: str, connection: Connection, spec: Spec, ledger: BenchLedger
) -> None:
    """Every record synced; the tenant holds each contact, invoice and payment exactly once, to the cent."""
    left = SyncRecord.objects.filter(connection=connection).exclude(state=SyncState.SYNCED)
    if left.exists():
        states = sorted({(r.kind, r.state, r.last_error) for r in left[:20]})
        raise BenchFailure(f"{left.count()} records not synced: {states}")
    ledger.check_ledger(sandbox, tenant_id, connection.organisation_id, spec)


def check_totals(organisation_id: object, spec: Spec, totals: dict[str, tuple[Decimal, Decimal]]) -> None:
    """Each of the organisation's invoices at its total and amount paid to the cent, as the ledger holds
    them ((total, paid) by number), and CashFlow holding the payments the spec asked for."""
    for invoice in Invoice.objects.filter(organisation_id=organisation_id):
        total, paid = totals[invoice.number]
        if total != invoice.total or paid != invoice.amount_paid:
            raise BenchFailure(f"{invoice.number}: ledger {total}/{paid}")
    assert Payment.objects.filter(invoice__organisation_id=organisation_id).count() == spec.payments


def check_ledger(sandbox: RunningSandbox, tenant_id: str, organisation_id: object, spec: Spec) -> None:
    """The tenant holds each of the organisation's contacts, invoices and payments once, to the cent."""
    ledger = sandbox.control.ledger(tenant_id)
    emails = [str(c.get("EmailAddress", "")).lower() for c in ledger["Contacts"]]
    if len(emails) != spec.customers or len(set(emails)) != spec.customers:
        raise BenchFailure(
            f"{len(emails)} contacts ({len(set(emails))} distinct) for {spec.customers} customers"
        )
    invoices = [i for i in ledger["Invoices"] if i.get("Type") == "ACCREC"]
    numbers = {i["InvoiceNumber"]: i for i in invoices}
    if len(invoices) != spec.invoices or len(numbers) != spec.invoices:
        raise BenchFailure(f"{len(invoices)} invoices ({len(numbers)} numbers) for {spec.invoices}")
    payments = [p for p in ledger["Payments"] if p.get("Status") == "AUTHORISED"]
    if len(payments) != spec.payments:
        raise BenchFailure(f"{len(payments)} payments in the ledger for {spec.payments}")
    totals = {n: (Decimal(str(i["Total"])), Decimal(str(i["AmountPaid"]))) for n, i in numbers.items()}
    check_totals(organisation_id, spec, totals)


def _xero_floor(shape: BackfillShape) -> Floor:
    return calls_floor(shape, XERO)


XERO_BENCH = BenchLedger(
    provider="xero",
    configure=configure,
    seed=seeded_tenant,
    connect=connect_through_views,
    check_ledger=check_ledger,
    floor=_xero_floor,
    forced_best=lambda floor, _: forced_seconds_best(floor.total, XERO),
    forced_worst=lambda floor, _: forced_seconds(floor.total, XERO),
)
