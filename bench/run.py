"""`make bench` = `python -m bench.run`: the benchmark suite against local Xero sandboxes over loopback HTTP.

Phases: build the books (CashFlow services), backfill them through the product (figure 1, with its peak RSS
for figure 4), the same books through an integrator's client on the official SDK (the baseline, same sandbox
and scale) and through the naive client (figure 1's comparisons), the engine's CPU per
invoice without network (figure 3), live latency through gunicorn + run_huey (figure 2), and many
organisations (section 5: bench/many.py; its PostgreSQL + Redis half in a process of its own). Writes
bench/results.json and BENCHMARKS.md. `--smoke` runs every phase at a tiny size in seconds (the test suite
does, so this code cannot rot) and writes nowhere outside --out unless told."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.env import OUT, setup_django

ROOT = Path(__file__).resolve().parent.parent
# Xero's idempotency keys live 6 minutes (xero.md 4); the engine assumes that on the wall clock.
IDEMPOTENCY_RETENTION_S = 360.0
# QuickBooks meters about 500 objects a minute: 10,000 invoices are ~44 ledger minutes, 2.2 real minutes per
# client at 20. At 30 (2 s minutes) the product's own work per window (about 2.3 ms of CPU per invoice, with
# SQLite and the sandbox on the same 2 cores) started to bind: wall / baseline went from 1.24 to 1.41.
QUICKBOOKS_TIME_SCALE = 20.0


@dataclass(frozen=True)
class Config:
    invoices: int
    customers: int
    payments: int
    time_scale: float
    naive_time_scale: float
    engine_invoices: int
    live_invoices: int
    live_rate: float
    growth: tuple[int, ...]
    quickbooks: tuple[int, ...]
    quickbooks_time_scale: float
    many: Any  # bench.many.ManyConfig: section 5's sizes
    out: Path
    results: Path | None
    markdown: Path | None
    command: str


def parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every phase in seconds")
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=1200)
    parser.add_argument("--payments", type=int, default=1600)
    parser.add_argument(
        "--time-scale", type=float, default=2.0, help="backfill sandbox: sandbox seconds per real second"
    )
    parser.add_argument(
        "--naive-time-scale", type=float, default=60.0, help="naive run's sandbox (its wall is sandbox time)"
    )
    parser.add_argument("--engine-invoices", type=int, default=1000)
    parser.add_argument("--live-invoices", type=int, default=40)
    parser.add_argument("--live-rate", type=float, default=0.5, help="invoices issued per second")
    parser.add_argument(
        "--growth",
        type=lambda text: tuple(int(n) for n in text.split(",") if n),
        default=(1000, 10000),
        help="invoice counts of the growth figures, product and baseline each (comma-separated)",
    )
    parser.add_argument(
        "--quickbooks",
        type=lambda text: tuple(int(n) for n in text.split(",") if n),
        default=(1000, 10000),
        help="invoice counts of the QuickBooks figures, product and baseline each (comma-separated)",
    )
    parser.add_argument(
        "--quickbooks-time-scale",
        type=float,
        default=QUICKBOOKS_TIME_SCALE,
        help="QuickBooks sandbox: sandbox seconds per real second",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="scratch folder (database, logs)")
    parser.add_argument("--results", type=Path, help="default bench/results.json (none with --smoke)")
    parser.add_argument("--markdown", type=Path, help="default BENCHMARKS.md (none with --smoke)")
    from bench import many

    many.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.invoices, args.customers, args.payments = 20, 12, 16
        args.engine_invoices, args.live_invoices, args.live_rate = 20, 3, 4.0
        args.growth = (10,)
        args.quickbooks = (10,)
    elif args.results is None and args.markdown is None:
        args.results, args.markdown = ROOT / "bench" / "results.json", ROOT / "BENCHMARKS.md"
    return Config(
        invoices=args.invoices,
        customers=args.customers,
        payments=args.payments,
        time_scale=args.time_scale,
        naive_time_scale=args.naive_time_scale,
        engine_invoices=args.engine_invoices,
        live_invoices=args.live_invoices,
        live_rate=args.live_rate,
        growth=args.growth,
        quickbooks=args.quickbooks,
        quickbooks_time_scale=args.quickbooks_time_scale,
        many=many.config(args, args.smoke),
        out=args.out.resolve(),
        results=args.results,
        markdown=args.markdown,
        command=shlex.join(["python", "-m", "bench.run", *argv]),
    )


class Bars:
    """One rich progress bar per phase."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )

    @contextmanager
    def phase(self, description: str, total: int, absolute: bool = False) -> Iterator[Callable[[int], None]]:
        """A bar; the callback takes increments, or (absolute=True) the count done so far."""
        task = self.progress.add_task(description, total=total)

        def tick(value: int) -> None:
            if absolute:
                self.progress.update(task, completed=value)
            else:
                self.progress.advance(task, value)

        yield tick
        self.progress.update(task, completed=total)


def run_suite(config: Config, console: Console) -> dict[str, Any]:
    """Every phase in order; returns results.json's content."""
    from django.conf import settings

    from bench import report
    from bench.backfill import check_ledger, run_backfill, seeded_tenant
    from bench.baseline import run_baseline
    from bench.dataset import Spec, build_books
    from bench.engine import run_engine
    from bench.growth import measure, spec_for
    from bench.growth import merge as growth_merge
    from bench.live import run_live
    from bench.many import run_many
    from bench.naive import run_naive
    from bench.quickbooks import run_quickbooks
    from ledgerlink.devtools.sandboxes import running_sandbox

    spec = Spec(config.invoices, config.customers, config.payments)
    engine_spec = Spec(config.engine_invoices, max(1, config.engine_invoices // 2), 0)
    bars = Bars(console)
    with bars.progress:
        with bars.phase("CashFlow books (services)", spec.customers + spec.invoices) as tick:
            books = build_books("Bench Roofs Pty Ltd", spec, tick)
        retention = str(IDEMPOTENCY_RETENTION_S * config.time_scale)
        with running_sandbox(
            "xero", time_scale=config.time_scale, extra_args=["--idempotency-retention", retention]
        ) as sandbox:
            with bars.phase(
                f"Backfill (time scale {config.time_scale:g})", spec.invoices, absolute=True
            ) as tick:
                backfill = run_backfill(
                    settings, sandbox, books, spec, time_scale=config.time_scale, progress=tick
                )
            # The same books, the same sandbox and scale, a tenant seeded alike: the integrator's way.
            with bars.phase("Baseline (xero-python SDK)", 1):
                tenant, marker = seeded_tenant(sandbox, "Bench Roofs (baseline)", books, spec)
                baseline = run_baseline(sandbox, tenant, marker, books, spec)
                check_ledger(sandbox, tenant, books.organisation.pk, spec)
            with bars.phase("Engine CPU (no network)", engine_spec.customers + engine_spec.invoices) as tick:
                engine_books = build_books("Bench Engine Pty Ltd", engine_spec, tick)
                engine = run_engine(settings, sandbox, engine_books)
        with (
            running_sandbox("xero", time_scale=config.naive_time_scale) as sandbox,
            bars.phase(
                f"Naive (time scale {config.naive_time_scale:g})", spec.invoices, absolute=True
            ) as tick,
        ):
            tenant, marker = seeded_tenant(sandbox, "Bench Roofs (naive)", books, spec)
            naive = run_naive(sandbox, tenant, marker, books, tick)
        with (
            running_sandbox("xero") as sandbox,
            bars.phase(
                f"Live ({config.live_rate:g} invoices/s)", config.live_invoices, absolute=True
            ) as tick,
        ):
            live = run_live(
                settings,
                sandbox,
                config.out,
                invoices=config.live_invoices,
                rate_per_s=config.live_rate,
                progress=tick,
            )
        growth = []
        for invoices in config.growth:
            size = spec_for(invoices)
            with bars.phase(f"Growth {invoices:,}: books", size.customers + size.invoices) as tick:
                growth.append(measure(settings, invoices, config.time_scale, IDEMPOTENCY_RETENTION_S, tick))
        quickbooks = run_quickbooks(settings, config.quickbooks, config.quickbooks_time_scale, bars.phase)
        many = run_many(settings, config.out, config.many, bars)
    data = report.results(config, spec, backfill, naive, engine, live, baseline)
    return {**growth_merge(data, growth), "quickbooks": quickbooks, **many}


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    console = Console(stderr=True)
    setup_django(config.out)
    from bench import report

    results = run_suite(config, console)
    if config.results:
        if config.results.exists():
            from bench.growth import kept_from

            results = kept_from(json.loads(config.results.read_text()), results)
        report.write_json(results, config.results)
    if config.markdown:
        report.write_markdown(results, config.markdown)
    report.write_json(results, config.out / "results.json")
    console.print(report.summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
