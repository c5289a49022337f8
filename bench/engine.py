"""Figure 3: the engine's CPU per invoice without network. The real worker runs over a connection whose
`XeroLedger` has the real payload builder, reader and customer matching, but a transport that answers in
process as Xero would (every element echoed with a new id and its total): claim, load the documents,
pre-flight, pack, build the payload, serialise it, rate permit, write-ahead mark, parse the answer, record
each result (state, remote link, totals compared). Customers are linked beforehand, so the figure is
invoices only. cProfile over the same run names the hot spots."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.test import Client, override_settings

from bench.dataset import Books
from ledgerlink.devtools.sandboxes import RunningSandbox
from ledgerlink.ledgers import http
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.contract import LedgerResponse, RateBudget
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.xero.client import XeroClient
from ledgerlink.ledgers.xero.ledger import XeroLedger
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import RemoteLink, SyncRecord, SyncState, TenantBudget
from ledgerlink.sync.session import LedgerSession
from ledgerlink.sync.worker import sync_connection
from tests.sync.xero_world import configure, connect_through_views, map_from_suggestion

ID_FIELDS = {"Invoices": "InvoiceID", "Contacts": "ContactID", "Payments": "PaymentID"}


class InProcessXeroClient(XeroClient):
    """Answers PUT batches as Xero does with summarizeErrors=false, with no socket. The body is serialised
    and the answer parsed exactly as over HTTP, so that cost stays in the figure; building the answer is
    Xero's work and is timed apart (`server_s`) to be taken out."""

    def __init__(self, tenant_id: str, organisation_id: str) -> None:
        super().__init__(access_token="in-process", tenant_id=tenant_id, organisation_id=organisation_id)
        self.server_s = 0.0
        self.requests = 0

    def request(
        self, method: str, path: str, *, params: Any = None, body: object = None, **_: Any
    ) -> LedgerResponse:
        self.requests += 1
        sent = http.json_bytes(body) if body is not None else b""
        started = time.process_time()
        answer = self._answer(path, json.loads(sent) if sent else {})
        self.server_s += time.process_time() - started
        return LedgerResponse(
            status=200,
            body=json.loads(answer, parse_float=Decimal),
            headers={},
            elapsed_ms=0.0,
            correlation_id="",
            budget=RateBudget(),
        )

    @staticmethod
    def _answer(path: str, body: dict[str, Any]) -> bytes:
        collection = path.strip("/").split("/")[0]
        elements = []
        for element in body.get(collection, []):
            echoed = {**element, ID_FIELDS[collection]: str(uuid.uuid4()), "StatusAttributeString": "OK"}
            if collection == "Invoices":
                lines = element["LineItems"]
                total = sum(Decimal(str(line["LineAmount"])) for line in lines)
                if element.get("LineAmountTypes") == "Exclusive":
                    total += sum(Decimal(str(line["TaxAmount"])) for line in lines)
                echoed["Total"] = str(total)
            elements.append(echoed)
        return json.dumps({"Id": str(uuid.uuid4()), "Status": "OK", collection: elements}).encode()


@dataclass(frozen=True)
class EngineResult:
    invoices: int
    cpu_us_per_invoice: float
    requests: int
    hot_spots: list[dict[str, Any]]


def link_customers(connection: Connection, books: Books) -> None:
    """Customers already in the ledger: the figure is about invoices."""
    RemoteLink.objects.bulk_create(
        RemoteLink(
            connection=connection,
            subject_type="customer",
            subject_id=str(customer.id),
            remote_id=str(uuid.uuid4()),
        )
        for customer in books.customers
    )


def _session(connection: Connection) -> tuple[LedgerSession, InProcessXeroClient]:
    """A fresh in-process ledger, and a fresh rate budget (what the first run spent is not the second's)."""
    TenantBudget.objects.filter(provider=connection.provider, tenant_id=connection.tenant_id).delete()
    client = InProcessXeroClient(connection.tenant_id, str(connection.organisation_id))
    mapping = resolve_mapping(connection.organisation, connection.provider)
    return LedgerSession(connection, XeroLedger(client), mapping, chart=chart_for(connection)), client


# The worker's outer frames hold the whole run; naming them says nothing.
OUTER_FRAMES = {
    "sync_connection",
    "execute",
    "process",
    "push",
    "exchange",
    "<listcomp>",
    "<genexpr>",
    "<lambda>",
}


def hot_spots(profile: cProfile.Profile, limit: int = 12) -> list[dict[str, Any]]:
    """Our functions with the most cumulative time, then the SQLite driver's own execution (always listed,
    to tell database work from ORM overhead), each with its share of the whole run."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    entries = stats.stats.items()  # type: ignore[attr-defined]
    total = max(cumulative for _, (_, _, _, cumulative, _) in entries)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in entries:
        ours = "ledgerlink" in filename and name not in OUTER_FRAMES
        # Django's SQLite cursor wrapper: its time is the driver's (SQLite itself) plus a few lines.
        driver = filename.endswith("backends/sqlite3/base.py") and name in ("execute", "executemany")
        if ours or driver:
            where = f"{filename.split('src/')[-1]}:{line}({name})" if ours else f"SQLite: cursor.{name}"
            rows.append((where, calls, own, cumulative))
    rows.sort(key=lambda row: row[3], reverse=True)
    driver = [row for row in rows if row[0].startswith("SQLite")]
    rows = [row for row in rows if not row[0].startswith("SQLite")][:limit] + driver
    return [
        {
            "function": where,
            "calls": calls,
            "own_s": round(own, 3),
            "cumulative_s": round(cumulative, 3),
            "share": round(cumulative / total, 3),
        }
        for where, calls, own, cumulative in rows
    ]


# No network, so no rate budget to keep: Xero's minute shrunk to microseconds never binds (at scale 1 the
# limiter stopped the run after 60 requests, about 3,000 invoices, and the figure could not be taken).
UNBOUND_TIME_SCALE = 1e6


def measure_engine(connection: Connection, books: Books) -> EngineResult:
    """Push every invoice of `books` through the worker twice over: timed, then profiled on a fresh copy."""
    with override_settings(LEDGERLINK_SYNC_TIME_SCALE=UNBOUND_TIME_SCALE):
        return _measure_engine(connection, books)


def _measure_engine(connection: Connection, books: Books) -> EngineResult:
    link_customers(connection, books)
    start_push(connection.organisation_id, Selection())
    records = SyncRecord.objects.filter(connection=connection, kind="invoice")
    invoices = records.count()
    session, client = _session(connection)
    started = time.process_time()
    sync_connection(connection.pk, session=session, budget_s=3600)
    cpu_s = time.process_time() - started - client.server_s
    if records.filter(state=SyncState.SYNCED).count() != invoices:
        raise AssertionError("the engine run left invoices unsynced")
    profile = cProfile.Profile()
    records.update(state=SyncState.PENDING, attempts=0, idempotency_key="", remote_id="")
    session, client = _session(connection)
    profile.enable()
    sync_connection(connection.pk, session=session, budget_s=3600)
    profile.disable()
    return EngineResult(
        invoices=invoices,
        cpu_us_per_invoice=round(cpu_s / invoices * 1e6, 1),
        requests=client.requests,
        hot_spots=hot_spots(profile),
    )


def run_engine(settings: Any, sandbox: RunningSandbox, books: Books) -> EngineResult:
    """Connect `books`' organisation to a sandbox tenant for real (the chart and mapping the pre-flight
    checks use), then measure with the in-process transport."""
    app = configure(settings, sandbox)
    tenant_id = sandbox.control.create_tenant("AU", "Bench Engine")
    connection = connect_through_views(Client(), sandbox, app, books.organisation, tenant_id)
    map_from_suggestion(connection, books.gst)
    return measure_engine(connection, books)
