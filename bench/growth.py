"""Growth: the same backfill, product and baseline side by side, at the sizes users reach (1,000 and 10,000
invoices in `make bench`; 100,000 in `make bench-100k`, which merges its figures into the results already
written). Customers and payments keep the main run's proportions (60% and 80% of the invoices, a third of the
customers already contacts), so every size is the same shape. Each size gets its own books and tenants."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # bench.dataset imports CashFlow's models: `python -m bench.growth` sets Django up first
    from bench.backfill import BackfillResult
    from bench.dataset import Spec

Tick = Callable[[int], None]


def spec_for(invoices: int) -> Spec:
    """The main run's shape at `invoices`: 2,000 / 1,200 / 1,600 scaled."""
    from bench.dataset import Spec

    return Spec(invoices, max(1, invoices * 3 // 5), invoices * 4 // 5)


@dataclass(frozen=True)
class GrowthPoint:
    figures: dict[str, Any]

    @property
    def key(self) -> str:
        return str(self.figures["invoices"])


def measure(settings: Any, invoices: int, time_scale: float, retention_s: float, tick: Tick) -> GrowthPoint:
    """Books of `invoices`, then the product's backfill and the SDK baseline on them, in one sandbox."""
    from bench.backfill import check_ledger, run_backfill, seeded_tenant
    from bench.baseline import run_baseline
    from bench.dataset import build_books
    from bench.floor import ratio
    from ledgerlink.devtools.sandboxes import running_sandbox

    spec = spec_for(invoices)
    books = build_books(f"Bench Growth {invoices}", spec, tick)
    retention = ["--idempotency-retention", str(retention_s * time_scale)]
    with running_sandbox("xero", time_scale=time_scale, extra_args=retention) as sandbox:
        product = run_backfill(settings, sandbox, books, spec, time_scale=time_scale)
        tenant, marker = seeded_tenant(sandbox, f"Bench Growth {invoices} (baseline)", books, spec)
        baseline = run_baseline(sandbox, tenant, marker, books, spec)
        check_ledger(sandbox, tenant, books.organisation.pk, spec)
    return GrowthPoint(
        {
            **product_figures(spec, product),
            "baseline_calls": baseline.calls,
            "baseline_wall_s": baseline.wall_s,
            "baseline_rate_limited": baseline.rate_limited,
            "baseline_cpu_us_per_invoice": us_per_invoice(baseline.cpu_s, invoices),
            "wall_vs_baseline": ratio(product.wall_s, baseline.wall_s),
        }
    )


def us_per_invoice(cpu_s: float, invoices: int) -> float:
    return round(cpu_s / invoices * 1e6, 1)


def product_figures(spec: Spec, product: BackfillResult) -> dict[str, Any]:
    """The product's backfill figures at one size (the growth and QuickBooks tables share them)."""
    return {
        "invoices": spec.invoices,
        "customers": spec.customers,
        "payments": spec.payments,
        "time_scale": product.time_scale,
        "calls": product.calls,
        "calls_floor": product.floor.total,
        "calls_ratio": product.calls_ratio,
        "rate_limited": product.rate_limited,
        "wall_s": product.wall_s,
        "forced_s": product.forced_s,
        "forced_s_worst": product.forced_s_worst,
        "wall_ratio": product.wall_ratio,
        "wall_ratio_worst": product.wall_ratio_worst,
        # Whole-backfill CPU of the process (connect, claims, payloads, answers), per invoice; the bench's
        # progress thread is taken out.
        "cpu_us_per_invoice": us_per_invoice(product.cpu_s, spec.invoices),
        "peak_rss_mb": product.peak_rss_mb,
        "by_endpoint": product.by_endpoint,
    }


def merge(results: dict[str, Any], points: list[GrowthPoint]) -> dict[str, Any]:
    """`results` with the points under `growth` (by invoice count) and the 100k peak under `memory`."""
    growth = by_size({**(results.get("growth") or {}), **{point.key: point.figures for point in points}})
    return with_100k_peak({**results, "growth": growth})


def merge_quickbooks(results: dict[str, Any], sizes: dict[str, Any]) -> dict[str, Any]:
    """`results` with QuickBooks points measured apart (`python -m bench.quickbooks_merge`) merged by size."""
    quickbooks = dict(results.get("quickbooks") or {})
    quickbooks["sizes"] = by_size({**(quickbooks.get("sizes") or {}), **sizes})
    return with_100k_peak({**results, "quickbooks": quickbooks})


def by_size(points: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(points.items(), key=lambda item: int(item[0])))


def ledger_sizes(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each ledger's whole-backfill points by size: ("Xero", growth), ("QuickBooks", quickbooks.sizes)."""
    return [
        ("Xero", results.get("growth") or {}),
        ("QuickBooks", (results.get("quickbooks") or {}).get("sizes") or {}),
    ]


def with_100k_peak(results: dict[str, Any]) -> dict[str, Any]:
    """`memory.backfill_100k_peak_rss_mb`: the higher of the two ledgers' 100,000-invoice peaks measured."""
    peaks = [sizes[HUNDRED_K]["peak_rss_mb"] for _, sizes in ledger_sizes(results) if HUNDRED_K in sizes]
    if not peaks:
        return results
    return {**results, "memory": {**results.get("memory", {}), "backfill_100k_peak_rss_mb": max(peaks)}}


HUNDRED_K = "100000"
# The issue sets the wall target at 10,000 invoices (100,000 runs at another time scale, where CPU binds).
TARGET_SIZE = "10000"


def target_point(sizes: dict[str, Any]) -> dict[str, Any]:
    """The point a target is judged at: 10,000 invoices, else the largest size measured."""
    return sizes.get(TARGET_SIZE) or sizes[max(sizes, key=int)]


def wall_vs_baseline_at_target(sizes: dict[str, Any]) -> float | None:
    """The product's wall over the baseline's at the target point, when the rate limits bind it (else it
    says nothing about who uses them better); None without points."""
    if not sizes:
        return None
    point = target_point(sizes)
    return point["wall_vs_baseline"] if point["forced_s_worst"] else None


def kept_from(previous: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """`results` with the sizes it did not measure, of either ledger, taken from the `previous` results (the
    100k points `make bench-100k` merged in stay when `make bench` runs again without them), each marked
    with the date it was measured."""
    date = previous.get("date")

    def missing(earlier: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
        return {
            size: {**figures, "measured_on": figures.get("measured_on") or date}
            for size, figures in earlier.items()
            if size not in measured
        }

    growth = missing(previous.get("growth") or {}, results.get("growth") or {})
    quickbooks = missing(
        (previous.get("quickbooks") or {}).get("sizes") or {},
        (results.get("quickbooks") or {}).get("sizes") or {},
    )
    kept = merge(results, [GrowthPoint(figures) for figures in growth.values()]) if growth else results
    return merge_quickbooks(kept, quickbooks) if quickbooks else kept


def provenance(module: str, argv: list[str]) -> dict[str, str]:
    """When and how a point measured apart was taken: `make bench` keeps it beside figures of its own date,
    and the page says so."""
    return {
        "measured_on": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([f"python -m {module}", *argv]),
    }


def measured_apart(points: list[dict[str, Any]]) -> str:
    """The page's word on the points measured apart from this `make bench`: when, and by what command."""
    apart = [p for p in points if p.get("measured_on")]
    return "".join(
        f"\n\nThe {p['invoices']:,}-invoice point was measured on {p['measured_on']}"
        + (f" by `{p['command']}`." if p.get("command") else " by an earlier `make bench`.")
        for p in apart
    )


def main(argv: list[str] | None = None) -> int:
    """`make bench-100k`: measure the sizes given and merge them into results.json and BENCHMARKS.md."""
    import json

    from bench.env import OUT, setup_django
    from bench.run import IDEMPOTENCY_RETENTION_S, ROOT

    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=main.__doc__)
    parser.add_argument("--invoices", type=int, nargs="+", default=[100_000])
    parser.add_argument("--time-scale", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_django(args.out.resolve())
    from django.conf import settings

    from bench import report

    stamp = provenance("bench.growth", sys.argv[1:] if argv is None else argv)
    measured = [
        measure(settings, n, args.time_scale, IDEMPOTENCY_RETENTION_S, lambda _: None) for n in args.invoices
    ]
    points = [GrowthPoint({**point.figures, **stamp}) for point in measured]
    results = merge(json.loads(args.results.read_text()), points)
    report.write_json(results, args.results)
    report.write_markdown(results, args.markdown)
    print(json.dumps(results["growth"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
