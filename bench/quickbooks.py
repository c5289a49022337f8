"""QuickBooks figures (issue 21): the product's historical push into a QuickBooks Online sandbox company and
the python-quickbooks baseline (bench/quickbooks_baseline.py) on the same books, in the same sandbox at the
same time scale, one after the other, at each size (1,000 and 10,000 invoices in `make bench`, the growth
figures' shape: 60% customers, a third already in the company, 80% paid). Results under `quickbooks`.

The company is QuickBooks' AU one (GST 10%, custom transaction numbers on), so the books are the Xero
bench's: tax-inclusive invoices numbered as in CashFlow. The sandbox meters each batch item against the 500
calls a minute by default (`batch_metering=item`, docs/sandbox.md "Rate limits"): both the product and the
baseline run under it, and the floor and its forced time are given under both meterings (`request`: a batch
spends one call, and the 40 batch requests a minute per app bind instead)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from bench.backfill import (
    BackfillResult,
    BenchFailure,
    BenchLedger,
    check_totals,
    run_backfill,
    shape_of,
)
from bench.baseline import BaselineResult, baseline_json
from bench.calls import last_seq
from bench.dataset import Books, Spec, build_books
from bench.floor import MINUTE_S, BackfillShape, Floor, XeroRules, ratio
from bench.floor import calls_floor as floor_terms
from bench.growth import (
    measured_apart,
    product_figures,
    spec_for,
    target_point,
    us_per_invoice,
    wall_vs_baseline_at_target,
)
from bench.quickbooks_baseline import run_quickbooks_baseline
from ledgerlink.devtools.sandboxes import RunningSandbox, SandboxApp
from tests.sync.xero_world import connect_through_views

Tick = Callable[[int], None]
REGION = "AU"
SCOPE = "com.intuit.quickbooks.accounting"
SEED_REDIRECT = "http://127.0.0.1/qbo-seed/callback"
METERINGS = ("item", "request")
# The control API's view of a company's whole books (checked after each run) takes seconds at 10,000.
LEDGER_READ_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class QuickBooksRules(XeroRules):
    """The rules the floor is computed from (quickbooks.md 0.6 and 3; the sandbox enforces the same), in the
    Xero floor's terms so `bench.floor.calls_floor` computes it alike."""

    batch: int = 30  # items per /batch
    page_size: int = 1000  # MAXRESULTS is capped at 1,000
    per_minute: int = 500  # per company, shared by every app
    per_day: int = 500 * 60 * 24  # no daily budget
    in_flight: int = 10
    batch_per_minute: int = 40  # batch requests per app and company (the 120 per company binds no single app)
    # Connecting: the token exchange (not metered against the company), then what every line and payment
    # needs: the accounts (a bank to deposit in), the tax codes (GST) and the items (a line needs an ItemRef).
    # Three more the ledger requires of any client that does not know the company beforehand
    # (quickbooks.md 2.2, 2.4, 2.5): the tax rates (a TaxCode names its rates only by TaxRateRef; the rate a
    # line is charged, which must be CashFlow's for the totals to agree, is on the TaxRate); the preferences
    # (CustomTxnNumbers decides whether a DocNumber sent is kept at all, and the tax model whether lines
    # carry GST codes or TAX/NON); and one item create per line type the books use (the bench's books use
    # one, "service"): a line posts to its item's income account, and the bench company holds no item on the
    # account the mapping names (its seeded "Services" posts to another).
    # Display names are unique across customers, vendors and employees too; the floor leaves that to luck,
    # as the baseline does, and the product learns of a clash from QuickBooks' refusal (ledgers/quickbooks/
    # contacts.py), so neither reads vendors or employees in books where no name clashes.
    setup_calls: int = 7
    # A query answer says nothing of how many rows there are (quickbooks.md 2.9: totalCount only for
    # count(*)): 2,000 customers take a third, empty page to end.
    page_count_known: bool = False


QBO = QuickBooksRules()


def calls_floor(shape: BackfillShape) -> Floor:
    """Setup, one paged read of the company's customers (1,000 a page), full batches of 30 of customers to
    create, invoices and payments: `bench.floor.calls_floor` under QuickBooks' rules."""
    return floor_terms(shape, QBO)


def metered(floor: Floor, shape: BackfillShape, metering: str) -> tuple[int, int]:
    """(units spent of the 500 a minute, batch requests) by the floor's calls: every call but the token
    exchange is one unit, except that under `item` metering a batch spends one per item."""
    batches = floor.contact_writes + floor.invoice_writes + floor.payment_writes
    single = floor.total - batches - 1
    if metering == "item":
        items = max(shape.customers - shape.existing_contacts, 0) + shape.invoices + shape.payments
        return single + items, batches
    return single + batches, batches


def windows(floor: Floor, shape: BackfillShape, metering: str) -> int:
    """Minute windows the floor's calls need under `metering`: whichever budget binds."""
    units, batches = metered(floor, shape, metering)
    return max(math.ceil(units / QBO.per_minute), math.ceil(batches / QBO.batch_per_minute), 1)


def forced_seconds(floor: Floor, shape: BackfillShape, metering: str, *, best: bool) -> float:
    """Sandbox seconds the limits force at the best window alignment (one window fewer: the budget of the
    window the run starts in and the next spent at once) or the worst."""
    return max(windows(floor, shape, metering) - (2 if best else 1), 0) * MINUTE_S


# --- The company: seeded, checked ------------------------------------------------------------------------


class Seeder:
    """A separate app creating customers in the company through /batch: plain `requests`, one call at a
    time, Retry-After honoured. Not the product, not the baseline."""

    def __init__(self, sandbox: RunningSandbox, realm: str) -> None:
        control = sandbox.control
        app = control.create_app([SEED_REDIRECT], name="bench seeder")
        code = control.consent(app.client_id, [realm], SCOPE, redirect_uri=SEED_REDIRECT)
        answer = requests.post(
            sandbox.base_url + "/oauth2/v1/tokens/bearer",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": SEED_REDIRECT},
            auth=(app.client_id, app.client_secret),
            headers={"Accept": "application/json"},
            timeout=30,
        )
        answer.raise_for_status()
        self.url = f"{sandbox.base_url}/v3/company/{realm}/batch"
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {answer.json()['access_token']}", "Accept": "application/json"}
        )

    def customers(self, customers: list[Any], batch: int = QBO.batch) -> None:
        for start in range(0, len(customers), batch):
            items = [
                {"bId": str(n), "operation": "create", "Customer": _customer(c)}
                for n, c in enumerate(customers[start : start + batch])
            ]
            self._send({"BatchItemRequest": items})

    def _send(self, body: dict[str, Any]) -> None:
        while True:
            answer = self.http.post(self.url, json=body, params={"minorversion": "75"}, timeout=30)
            if answer.status_code == 429:
                import time

                time.sleep(float(answer.headers.get("Retry-After") or 1))
                continue
            answer.raise_for_status()
            faults = [item for item in answer.json()["BatchItemResponse"] if "Fault" in item]
            if faults:
                raise BenchFailure(f"seeding: {faults[0]}")
            return


def _customer(customer: Any) -> dict[str, Any]:
    return {"DisplayName": customer.name, "PrimaryEmailAddr": {"Address": customer.email}}


def seeded_company(sandbox: RunningSandbox, name: str, books: Books, spec: Spec) -> tuple[str, int]:
    """A fresh AU company holding the customers already in the ledger, created through the API by a
    separate app. QuickBooks' 500 a minute is the company's, shared by every app, so the seeding runs with a
    batch spending one call; each backfill then starts as a window opens (`SandboxControl.open_window`),
    with the company's whole budget, as after a quiet minute. Returns (realmId, log marker)."""
    control = sandbox.control
    realm = control.create_company(REGION, name, settings={"batch_metering": "request"})
    Seeder(sandbox, realm).customers(books.already_in_ledger(spec))
    control.update_settings(realm, batch_metering="item")
    return realm, last_seq(control, realm)


def check_company(sandbox: RunningSandbox, realm: str, organisation_id: object, spec: Spec) -> None:
    """The company holds each of the organisation's customers (by email), invoices (by number) and
    payments once, every invoice at its total and amount paid to the cent."""
    ledger = sandbox.control.ledger(realm)
    emails = [str((c.get("PrimaryEmailAddr") or {}).get("Address", "")).lower() for c in ledger["Customer"]]
    if len(emails) != spec.customers or len(set(emails)) != spec.customers:
        raise BenchFailure(f"{len(emails)} customers ({len(set(emails))} emails) for {spec.customers}")
    numbers = {str(i.get("DocNumber")): i for i in ledger["Invoice"]}
    if len(ledger["Invoice"]) != spec.invoices or len(numbers) != spec.invoices:
        raise BenchFailure(f"{len(ledger['Invoice'])} invoices ({len(numbers)} numbers) for {spec.invoices}")
    if len(ledger["Payment"]) != spec.payments:
        raise BenchFailure(f"{len(ledger['Payment'])} payments in the company for {spec.payments}")
    totals = {
        number: (Decimal(str(i["TotalAmt"])), Decimal(str(i["TotalAmt"])) - Decimal(str(i["Balance"])))
        for number, i in numbers.items()
    }
    check_totals(organisation_id, spec, totals)


def configure(settings: Any, sandbox: RunningSandbox) -> SandboxApp:
    """Point LedgerLink's QuickBooks settings at the sandbox, with a fresh OAuth app (the contract suite's
    harness does exactly this)."""
    from tests.ledgers.quickbooks.harness import QuickBooksHarness

    return QuickBooksHarness(sandbox).configure(settings)


QUICKBOOKS_BENCH = BenchLedger(
    provider="quickbooks",
    configure=configure,
    seed=seeded_company,
    connect=functools.partial(connect_through_views, provider="quickbooks"),
    check_ledger=check_company,
    floor=calls_floor,
    # The sandbox's default metering, which both clients run under.
    forced_best=lambda floor, shape: forced_seconds(floor, shape, "item", best=True),
    forced_worst=lambda floor, shape: forced_seconds(floor, shape, "item", best=False),
)


# --- One size, and the phase ------------------------------------------------------------------------------


def measure(settings: Any, invoices: int, time_scale: float, tick: Tick) -> dict[str, Any]:
    """Books of `invoices`, then the product's backfill and the python-quickbooks baseline on them, in one
    sandbox at `time_scale`."""
    from ledgerlink.devtools.sandboxes import running_sandbox

    spec = spec_for(invoices)
    books = build_books(f"Bench QuickBooks {invoices}", spec, tick)
    with running_sandbox("quickbooks", time_scale=time_scale) as sandbox:
        sandbox.control.timeout = LEDGER_READ_TIMEOUT_S
        product = run_backfill(settings, sandbox, books, spec, time_scale=time_scale, ledger=QUICKBOOKS_BENCH)
        realm, marker = seeded_company(sandbox, f"Bench QuickBooks {invoices} (baseline)", books, spec)
        baseline = run_quickbooks_baseline(sandbox, realm, marker, books, spec, time_scale)
        check_company(sandbox, realm, books.organisation.pk, spec)
    return figures(spec, product, baseline)


QUICKBOOKS_BASELINE = (
    "python-quickbooks + intuit-oauth: batches of 30, one bulk customer read, "
    "sleep Retry-After (else 60 ledger s) on a 429"
)


def figures(spec: Spec, product: BackfillResult, baseline: BaselineResult) -> dict[str, Any]:
    shape = shape_of(spec)
    floor = product.floor
    scale = product.time_scale
    written = shape.customers - shape.existing_contacts + shape.invoices + shape.payments
    by_metering = {}
    for metering in METERINGS:
        units, batches = metered(floor, shape, metering)
        by_metering[metering] = {
            "units": units,
            "batch_requests": batches,
            "forced_s": round(forced_seconds(floor, shape, metering, best=True) / scale, 3),
            "forced_s_worst": round(forced_seconds(floor, shape, metering, best=False) / scale, 3),
            "objects_per_minute": round(written / windows(floor, shape, metering)),
        }
    return {
        **product_figures(spec, product),
        "existing_customers": spec.existing_contacts,
        "metering": "item",
        "floor": floor.as_json(),
        "floor_by_metering": by_metering,
        "cpu_s": product.cpu_s,
        "worker_runs": product.runs,
        "idle_gaps_s": product.idle_gaps_s,
        "baseline": baseline_json(product.calls, product.wall_s, baseline, QUICKBOOKS_BASELINE),
        "baseline_cpu_us_per_invoice": us_per_invoice(baseline.cpu_s, spec.invoices),
        "calls_vs_baseline": ratio(product.calls, baseline.calls),
        "wall_vs_baseline": ratio(product.wall_s, baseline.wall_s),
    }


def run_quickbooks(
    settings: Any, sizes: tuple[int, ...], time_scale: float, phase: Callable[[str, int], Any]
) -> dict[str, Any]:
    """Every size; `phase(description, total)` is the suite's progress bar context (bench/run.py `Bars`).
    Returns the `quickbooks` key of the results."""
    points = {}
    for invoices in sizes:
        size = spec_for(invoices)
        with phase(f"QuickBooks {invoices:,} (scale {time_scale:g})", size.customers + size.invoices) as tick:
            points[str(invoices)] = measure(settings, invoices, time_scale, tick)
    return {"time_scale": time_scale, "sizes": points}


# --- The report's part ------------------------------------------------------------------------------------


def wall_vs_baseline(data: dict[str, Any]) -> float | None:
    """The product's wall time over the baseline's at 10,000 invoices (else the largest size measured),
    from a run the rate limits bind (else it says nothing about who uses them better)."""
    return wall_vs_baseline_at_target((data.get("quickbooks") or {}).get("sizes") or {})


def why(value: float | None, target: float, data: dict[str, Any]) -> str:
    """The figures behind a missed QuickBooks wall target, at the size it is taken."""
    point = target_point(data["quickbooks"]["sizes"])
    baseline = point["baseline"]
    reads = sum(n for endpoint, n in point["by_endpoint"].items() if not endpoint.startswith("POST /batch"))
    text = (
        f"- **QuickBooks wall / baseline {value} (target <= {target:g}) at {point['invoices']:,} invoices**: "
        f"{point['wall_s']} s against the baseline's {baseline['wall_s']} s, both started as a window opens, "
        f"where the limits force {point['forced_s_worst']} s on the floor's calls (item metering). The "
        f"product made {point['calls']} calls ({reads} of them not batches) against the baseline's "
        f"{baseline['calls']} and the floor's {point['calls_floor']}; 429s: product {point['rate_limited']}, "
        f"baseline {baseline['rate_limited']}. QuickBooks reports no remaining budget, so the product paces "
        "by its own count over a sliding minute, and its look-ups are units of the 500 a minute the baseline "
        "does not spend."
    )
    reachable, forced = target * baseline["wall_s"], point["forced_s_worst"]
    if reachable < forced:
        text += (
            f" The target needs {reachable:.1f} s, below what the limits force on the floor's own calls "
            f"({forced} s): sending until a 429 and sleeping a Retry-After "
            "that names the window's end already uses the item-metered budget about as well as it can be "
            "used, so no client can be 5% faster than this baseline here."
        )
    return text


METERING_COLUMNS = [
    ("units", "units of the 500/min"),
    ("batch_requests", "batch requests"),
    ("forced_s", "forced best (s)"),
    ("forced_s_worst", "forced worst (s)"),
    ("objects_per_minute", "objects written / min"),
]


def _row(point: dict[str, Any]) -> dict[str, Any]:
    baseline = point["baseline"]
    return {
        **point,
        "baseline_calls": baseline["calls"],
        "baseline_rate_limited": baseline["rate_limited"],
        "baseline_wall_s": baseline["wall_s"],
    }


def section(
    data: dict[str, Any],
    table: Callable[..., str],
    chart: Callable[..., str],
    columns: list[tuple[str, str]],
) -> str:
    """The QuickBooks section's tables and charts (`table`, `chart` and the growth table's `columns`: the
    report's own), with the baseline's 429s beside its calls."""
    at = [key for key, _ in columns].index("baseline_calls") + 1
    columns = [*columns[:at], ("baseline_rate_limited", "baseline 429s"), *columns[at:]]
    quickbooks = data.get("quickbooks") or {}
    sizes = quickbooks.get("sizes") or {}
    if not sizes:
        return "(not run)"
    points = [_row(sizes[key]) for key in sorted(sizes, key=int)]
    parts = [
        f"Time scale {quickbooks['time_scale']:g} where the table does not say otherwise (a QuickBooks "
        f"minute lasts {60 / quickbooks['time_scale']:g} s); the sandbox's default metering, `item`.",
        table([title for _, title in columns], [[p.get(key) for key, _ in columns] for p in points])
        + measured_apart(points),
        "The floor's calls under each metering (the sandbox's default `item`: a batch item spends one of "
        "the 500 a minute; `request`: a batch spends one, and the 40 batch requests a minute per app bind):",
        table(
            ["invoices", "metering", *(title for _, title in METERING_COLUMNS)],
            [
                [p["invoices"], metering, *(figures.get(key) for key, _ in METERING_COLUMNS)]
                for p in points
                for metering, figures in p["floor_by_metering"].items()
            ],
        ),
        "Product calls by endpoint: "
        + "; ".join(
            f"{p['invoices']:,}: " + ", ".join(f"`{k}` {v}" for k, v in p["by_endpoint"].items())
            for p in points
        )
        + ".",
        chart(
            "QuickBooks backfill wall time (s): product | baseline",
            [
                bar
                for p in points
                for bar in (
                    (f"{p['invoices']:,} product", p["wall_s"]),
                    (f"{p['invoices']:,} baseline", p["baseline_wall_s"]),
                    (f"{p['invoices']:,} forced best", p["forced_s"]),
                )
            ],
        ),
    ]
    return "\n\n".join(parts)
