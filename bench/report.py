"""results.json and BENCHMARKS.md from one run's measurements. Every figure in the markdown is read from the
results, so the document cannot drift from the numbers; the prose around them explains the method."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path
from string import Template
from typing import Any

from bench import quickbooks
from bench.backfill import BackfillResult
from bench.baseline import BaselineResult, baseline_json
from bench.dataset import Spec
from bench.engine import EngineResult
from bench.floor import XeroRules, forced_seconds, forced_seconds_best, ratio
from bench.growth import ledger_sizes, measured_apart, target_point, wall_vs_baseline_at_target
from bench.live import LiveResult
from bench.naive import NaiveResult

TARGETS = {
    "calls_ratio": ("≤", 1.05),
    "wall_ratio": ("≤", 1.15),
    "naive_calls_ratio": ("≥", 20.0),
    "p99_s": ("≤", 2.0),
    "cpu_us_per_invoice": ("≤", 1000.0),
    "backfill_peak_rss_mb": ("≤", 300.0),
    "wall_vs_baseline": ("≤", 0.95),
    "quickbooks_wall_vs_baseline": ("≤", 0.95),
    # The whole backfill's CPU (connect, claims, payloads, answers, records), the largest of every size and
    # ledger: flat with N and within the target means the most expensive size meets it.
    "backfill_cpu_us_per_invoice": ("≤", 1000.0),
    "backfill_100k_peak_rss_mb": ("≤", 300.0),  # from `make bench-100k`, when it has run
}
XERO_BASELINE = "xero-python: batches of 50, one bulk contact read, sleep Retry-After on a 429"
TEMPLATE = Path(__file__).with_name("BENCHMARKS.md.tmpl")
FLOOR_TERMS = {
    "setup": "POST identity:/connect/token, GET identity:/connections, GET /Accounts, GET /TaxRates",
    "contact_reads": "GET /Contacts",
    "contact_writes": "PUT /Contacts",
    "invoice_writes": "PUT /Invoices",
    "payment_writes": "PUT /Payments",
}


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "processor": platform.machine(),
    }


def results(
    config: Any,
    spec: Spec,
    backfill: BackfillResult,
    naive: NaiveResult,
    engine: EngineResult,
    live: LiveResult,
    baseline: BaselineResult,
) -> dict[str, Any]:
    rules = XeroRules()
    floor = backfill.floor.total
    naive_forced = forced_seconds(naive.calls, rules)
    floor_forced = forced_seconds(floor, rules)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": config.command,
        "xero": {
            "backfill": {
                "invoices": spec.invoices,
                "calls": backfill.calls,
                "calls_floor": floor,
                "calls_ratio": backfill.calls_ratio,
                "wall_ratio": backfill.wall_ratio,
                "naive_calls": naive.calls,
                "naive_calls_ratio": ratio(naive.calls, floor),
                "naive_wall_ratio": ratio(naive.sandbox_s, floor_forced),
                "naive_wall_ratio_forced": ratio(naive_forced, floor_forced),
                "customers": spec.customers,
                "existing_contacts": spec.existing_contacts,
                "payments": spec.payments,
                "time_scale": backfill.time_scale,
                "wall_s": backfill.wall_s,
                "forced_s": backfill.forced_s,
                "forced_s_worst": backfill.forced_s_worst,
                "wall_ratio_worst": backfill.wall_ratio_worst,
                "wall_ratio_calls_made": ratio(
                    backfill.wall_s, forced_seconds_best(backfill.calls, rules) / backfill.time_scale
                ),
                "forced_s_for_calls_made": round(
                    forced_seconds_best(backfill.calls, rules) / backfill.time_scale, 3
                ),
                "cpu_s": backfill.cpu_s,
                "worker_runs": backfill.runs,
                "idle_gaps_s": backfill.idle_gaps_s,
                "rate_limited": backfill.rate_limited,
                "api_calls": backfill.api_calls,
                "identity_calls": backfill.identity_calls,
                "floor": backfill.floor.as_json(),
                "by_endpoint": backfill.by_endpoint,
                "naive": {
                    "calls": naive.calls,
                    "api_calls": naive.api_calls,
                    "rate_limited": naive.rate_limited,
                    "sandbox_s": naive.sandbox_s,
                    "time_scale": config.naive_time_scale,
                },
            },
            "baseline": baseline_json(backfill.calls, backfill.wall_s, baseline, XERO_BASELINE),
            "live": {
                "p50_s": live.percentile(50),
                "p95_s": live.percentile(95),
                "p99_s": live.percentile(99),
                "max_s": max(live.latencies_s),
                "invoices": live.invoices,
                "rate_per_s": live.rate_per_s,
                "poll_s": live.poll_s,
                "mode": "gunicorn (2 workers x 4 threads) + run_huey (SqliteHuey), embedded SQLite",
            },
        },
        "engine": {
            "cpu_us_per_invoice": engine.cpu_us_per_invoice,
            "invoices": engine.invoices,
            "requests": engine.requests,
            "hot_spots": engine.hot_spots,
        },
        "memory": {"backfill_peak_rss_mb": backfill.peak_rss_mb},
    }


def checks(data: dict[str, Any]) -> list[tuple[str, float | None, str, float, bool | None]]:
    """(figure, value, comparison, target, met) for every target."""
    backfill, live = data["xero"]["backfill"], data["xero"]["live"]
    values = {
        "calls_ratio": backfill["calls_ratio"],
        "wall_ratio": backfill["wall_ratio"],
        "naive_calls_ratio": backfill["naive_calls_ratio"],
        "p99_s": live["p99_s"],
        "cpu_us_per_invoice": data["engine"]["cpu_us_per_invoice"],
        "backfill_peak_rss_mb": data["memory"]["backfill_peak_rss_mb"],
        "wall_vs_baseline": _wall_vs_baseline(data),
        "quickbooks_wall_vs_baseline": quickbooks.wall_vs_baseline(data),
        "backfill_cpu_us_per_invoice": _backfill_cpu(data),
        "backfill_100k_peak_rss_mb": data["memory"].get("backfill_100k_peak_rss_mb"),
    }
    from bench import many

    values.update(many.values(data))
    rows = []
    for name, (sign, target) in {**TARGETS, **many.TARGETS}.items():
        value = values[name]
        met = None if value is None else (value <= target if sign == "≤" else value >= target)
        rows.append((name, value, sign, target, met))
    return rows


def _wall_vs_baseline(data: dict[str, Any]) -> float | None:
    """The product's wall time over the baseline's at 10,000 invoices (else the largest size measured),
    from a run the rate limits bind: only then does it say who uses them better."""
    growth = data.get("growth") or {}
    if growth:
        return wall_vs_baseline_at_target(growth)
    backfill = data["xero"]["backfill"]
    bound = backfill.get("forced_s_worst", backfill.get("forced_s"))
    return data["xero"].get("baseline", {}).get("wall_vs_baseline") if bound else None


def _backfill_points(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every whole-backfill size measured: ("Xero 10,000", figures), ("QuickBooks 1,000", figures)..."""
    return [
        (f"{name} {int(n):,}", point) for name, points in ledger_sizes(data) for n, point in points.items()
    ]


def _backfill_cpu(data: dict[str, Any]) -> float | None:
    figures = [point.get("cpu_us_per_invoice") for _, point in _backfill_points(data)]
    measured = [figure for figure in figures if figure is not None]
    return max(measured) if measured else None


def _why_backfill_cpu(value: float | None, target: float, data: dict[str, Any]) -> str:
    each = ", ".join(f"{label}: {point['cpu_us_per_invoice']:g}" for label, point in _backfill_points(data))
    return (
        f"- **whole-backfill CPU {value} µs per invoice (target <= {target:g}, flat with N)**: {each}."
        + _growth_with_n(data)
        + _beside_the_baselines(data)
        + f" The engine's own work without network is {data['engine']['cpu_us_per_invoice']} µs (section 3); "
        "the rest is the HTTP client, reading answers and writing each object's outcome to the database."
    )


def _growth_with_n(data: dict[str, Any]) -> str:
    """How much dearer an invoice is at the largest size than at the smallest, per ledger measured at two."""
    rises = [
        f"{name} {ratio(sizes[top]['cpu_us_per_invoice'], sizes[low]['cpu_us_per_invoice']):g}x "
        f"from {int(low):,} to {int(top):,}"
        for name, sizes in ledger_sizes(data)
        if len(sizes) > 1
        for low, top in [(min(sizes, key=int), max(sizes, key=int))]
    ]
    return f" Not flat: {'; '.join(rises)}." if rises else ""


def _beside_the_baselines(data: dict[str, Any]) -> str:
    """The SDK baselines' CPU per invoice on the same books in the same run: the figure the machine's speed
    sets, so a reader can tell a slower machine from a dearer product."""
    pairs = [
        f"{label}: {point['baseline_cpu_us_per_invoice']:g} µs, the product "
        f"{ratio(point['cpu_us_per_invoice'], point['baseline_cpu_us_per_invoice']):g}x that"
        for label, point in _backfill_points(data)
        if point.get("baseline_cpu_us_per_invoice")
    ]
    if not pairs:
        return ""
    return f" Beside the SDK baselines on the same books in the same run: {'; '.join(pairs)}."


def _why_wall_vs_baseline(value: float | None, target: float, data: dict[str, Any]) -> str:
    growth = data["growth"]
    point = target_point(growth)
    text = (
        f"- **Xero wall / baseline {value} (target <= {target:g}) at {point['invoices']:,} invoices**: "
        f"{point['wall_s']} s against the baseline's {point['baseline_wall_s']} s, both started as a window "
        f"opens, where the limits force {point['forced_s_worst']} s on the floor's calls. Calls: product "
        f"{point['calls']}, baseline {point['baseline_calls']}, floor {point['calls_floor']}; 429s: product "
        f"{point['rate_limited']}, baseline {point['baseline_rate_limited']}."
    )
    reachable, forced = target * point["baseline_wall_s"], point["forced_s_worst"]
    if reachable < forced:
        text += (
            f" The target needs {reachable:.1f} s, below what the limits force on the floor's own calls "
            f"({forced} s): the baseline is already within {point['baseline_wall_s'] / forced - 1:.1%} of "
            "it, so winning by 5% needs fewer calls than the floor (contacts made inside the invoice by "
            "name, which would match by name rather than by email: not done)."
        )
    return text


def write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def summary(data: dict[str, Any]) -> str:
    lines = [
        f"{name}: {value} (target {sign} {target:g}) {_verdict(met)}"
        for name, value, sign, target, met in checks(data)
    ]
    return "\n".join(lines)


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a (run too small to be rate-bound)"}[met]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(out)


def _endpoint_rows(backfill: dict[str, Any]) -> list[list[Any]]:
    """Calls per endpoint beside the floor's term for it."""
    floor, made = backfill["floor"], dict(backfill["by_endpoint"])
    rows = []
    for term, endpoints in FLOOR_TERMS.items():
        names = [e.strip() for e in endpoints.split(",")]
        rows.append([", ".join(f"`{n}`" for n in names), sum(made.pop(n, 0) for n in names), floor[term]])
    rows += [[f"`{name}`", count, 0] for name, count in made.items()]
    return rows


def misses(data: dict[str, Any]) -> str:
    """A paragraph per missed target: why, from the figures, and what would reach it."""
    paragraphs = [
        _why(name, value, target, data) for name, value, _, target, met in checks(data) if met is False
    ]
    return "\n\n".join(paragraphs) or "Every target is met."


def _why(name: str, value: float | None, target: float, data: dict[str, Any]) -> str:
    """Only what the figures show: the causes in the code are for the note that reads them, since a
    sentence naming a function goes stale the day that function is fixed."""
    backfill = data["xero"]["backfill"]
    if name == "calls_ratio":
        rows = _excess(backfill)
        excess = ", ".join(f"{names} {made} (floor {floor})" for names, made, floor in rows) or "none"
        return (
            f"- **calls_ratio {value} (target <= {target:g})**: {backfill['calls']} calls against a floor of "
            f"{backfill['calls_floor']}. Endpoints above their floor term: {excess}."
        )
    if name == "wall_ratio":
        return _why_wall(value, target, backfill)
    if name == "p99_s":
        return f"- **live p99 {value} s (target <= {target:g} s)**: see section 2."
    if name == "cpu_us_per_invoice":
        return _why_cpu(value, target, data["engine"])
    if name == "quickbooks_wall_vs_baseline":
        return quickbooks.why(value, target, data)
    if name == "wall_vs_baseline" and data.get("growth"):
        return _why_wall_vs_baseline(value, target, data)
    if name == "backfill_cpu_us_per_invoice":
        return _why_backfill_cpu(value, target, data)
    if name == "backfill_100k_peak_rss_mb":
        return (
            f"- **peak RSS at 100,000 invoices {value} MB (target <= {target:g})**: the backfill process, "
            "measured from the start of the push (section 1b's table, `make bench-100k`)."
        )
    if name == "backfill_peak_rss_mb":
        return f"- **peak RSS {value} MB (target <= {target:g})**: see section 4."
    from bench import many

    return many.why(name, value, target, data) or f"- **{name} {value} (target {target:g})**."


def _excess(backfill: dict[str, Any]) -> list[tuple[str, int, int]]:
    """The endpoint rows whose calls exceed the floor's term for them."""
    return [(names, made, floor) for names, made, floor in _endpoint_rows(backfill) if made > floor]


FULL_MINUTE = 0.95  # an idle gap this close to a whole window means the limiter waited a minute after a burst


def _why_wall(value: float | None, target: float, backfill: dict[str, Any]) -> str:
    window_s = 60 / backfill["time_scale"]
    gaps = backfill["idle_gaps_s"]
    listed = ", ".join(f"{gap:g}" for gap in gaps) or "none"
    text = (
        f"- **wall_ratio {value} (target <= {target:g})**: the rate limits force {backfill['forced_s']} s "
        f"for the floor's {backfill['calls_floor']} calls and {backfill['forced_s_for_calls_made']} s "
        f"for the {backfill['calls']} calls made; the wall time ({backfill['wall_s']} s) is "
        f"{backfill['wall_ratio_calls_made']}x the latter. Idle gaps between bursts: {listed} s (a Xero "
        f"minute lasts {window_s:g} s here)."
    )
    whole = sum(gap >= FULL_MINUTE * window_s for gap in gaps)
    if whole:
        text += (
            f" {whole} of them lasted a whole window: the engine's limiter waited out a full minute after a "
            "burst, because it could not tell when Xero's window had started."
        )
    return text + (
        " Where a burst falls against Xero's window (a per-tenant offset) decides how much of a minute is "
        "lost, so this figure moves between runs."
    )


def _why_cpu(value: float | None, target: float, engine: dict[str, Any]) -> str:
    spots = sorted(engine["hot_spots"], key=lambda spot: -spot["share"])[:4]
    listed = "; ".join(f"`{spot['function']}` {spot['share']:.0%}" for spot in spots) or "none recorded"
    return (
        f"- **{value} us of CPU per invoice (target <= {target:g})**: the largest shares of the profiled run "
        f"(section 3): {listed}."
    )


def _baseline_table(backfill: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    if not baseline:
        return "(not run)"
    rows = [
        ["calls", backfill["calls"], baseline["calls"], baseline["calls_vs_baseline"]],
        ["wall (s, real)", backfill["wall_s"], baseline["wall_s"], baseline["wall_vs_baseline"]],
        ["refused (429)", backfill.get("rate_limited", "-"), baseline["rate_limited"], ""],
        ["CPU (s)", backfill["cpu_s"], baseline["cpu_s"], ""],
    ]
    return (
        _table(["", "product", "baseline (xero-python)", "product / baseline"], rows)
        + "\n\n"
        + (_bar_chart("wall time (s)", [("product", backfill["wall_s"]), ("baseline", baseline["wall_s"])]))
    )


def _bar_chart(title: str, bars: list[tuple[str, float]], width: int = 50) -> str:
    """A text chart (no plotting dependency): one bar per figure, scaled to the largest."""
    top = max((value for _, value in bars), default=0) or 1
    label = max((len(name) for name, _ in bars), default=0)
    lines = [
        f"{name:<{label}} | {'#' * max(1, round(value / top * width))} {value:g}" for name, value in bars
    ]
    return "```\n" + title + "\n" + "\n".join(lines) + "\n```"


GROWTH_COLUMNS = [
    ("invoices", "invoices"),
    ("time_scale", "time scale"),
    ("calls", "calls"),
    ("calls_floor", "floor"),
    ("rate_limited", "429s"),
    ("wall_s", "wall (s)"),
    ("forced_s", "forced best (s)"),
    ("forced_s_worst", "forced worst (s)"),
    ("baseline_calls", "baseline calls"),
    ("baseline_wall_s", "baseline wall (s)"),
    ("wall_vs_baseline", "wall / baseline"),
    ("cpu_us_per_invoice", "CPU µs / invoice"),
    ("peak_rss_mb", "peak RSS (MB)"),
]


def _growth_section(growth: dict[str, Any]) -> str:
    if not growth:
        return "(not run)"
    points = [growth[key] for key in sorted(growth, key=int)]
    table = _table(
        [title for _, title in GROWTH_COLUMNS], [[p.get(key) for key, _ in GROWTH_COLUMNS] for p in points]
    ) + measured_apart(points)
    charts = [
        _bar_chart(
            "backfill wall time (s): product | baseline",
            [
                bar
                for p in points
                for bar in (
                    (f"{p['invoices']:,} product", p["wall_s"]),
                    (f"{p['invoices']:,} baseline", p["baseline_wall_s"]),
                )
            ],
        ),
        _bar_chart("calls", [(f"{p['invoices']:,}", p["calls"]) for p in points]),
        _bar_chart(
            "whole-backfill CPU µs per invoice",
            [(f"{p['invoices']:,}", p["cpu_us_per_invoice"]) for p in points],
        ),
        _bar_chart("peak RSS (MB)", [(f"{p['invoices']:,}", p["peak_rss_mb"] or 0) for p in points]),
    ]
    return table + "\n\n" + "\n\n".join(charts)


def write_markdown(data: dict[str, Any], path: Path) -> None:
    path.write_text(markdown(data))


def markdown(data: dict[str, Any]) -> str:
    backfill, live, engine = data["xero"]["backfill"], data["xero"]["live"], data["engine"]
    naive, host = backfill["naive"], data["machine"]
    targets = [
        [name, value, f"{sign} {target:g}", _verdict(met)] for name, value, sign, target, met in checks(data)
    ]
    wall_row = ["wall (s, real)", backfill["wall_s"], backfill["forced_s"], backfill["wall_ratio"]]
    wall_row += [f"{naive['sandbox_s']} (sandbox s)", backfill["naive_wall_ratio"]]
    calls_row = ["calls", backfill["calls"], backfill["calls_floor"], backfill["calls_ratio"]]
    calls_row += [naive["calls"], backfill["naive_calls_ratio"]]
    hot = [
        [f"`{h['function']}`", h["calls"], h["own_s"], h["cumulative_s"], f"{h['share']:.0%}"]
        for h in engine["hot_spots"]
    ]
    values = {
        "command": data["command"],
        "date": data["date"],
        "nproc": host["nproc"],
        "python": host["python"],
        "platform": host["platform"],
        "targets_table": _table(["figure", "value", "target", ""], targets),
        "misses": misses(data),
        "invoices": f"{backfill['invoices']:,}",
        "customers": f"{backfill['customers']:,}",
        "existing_contacts": f"{backfill['existing_contacts']:,}",
        "payments": f"{backfill['payments']:,}",
        "backfill_table": _table(
            ["", "product", "floor", "ratio", "naive", "naive ratio"], [calls_row, wall_row]
        ),
        "endpoint_table": _table(["endpoint", "calls made", "floor"], _endpoint_rows(backfill)),
        "api_calls": backfill["api_calls"],
        "floor_sum": " + ".join(str(v) for k, v in backfill["floor"].items() if k != "total"),
        "calls_floor": backfill["calls_floor"],
        "calls": backfill["calls"],
        "forced_made": backfill["forced_s_for_calls_made"],
        "forced_s": backfill["forced_s"],
        "forced_s_worst": backfill.get("forced_s_worst"),
        "wall_ratio_worst": backfill.get("wall_ratio_worst"),
        "baseline_table": _baseline_table(backfill, data["xero"].get("baseline")),
        "growth_section": _growth_section(data.get("growth") or {}),
        "quickbooks_section": quickbooks.section(data, _table, _bar_chart, GROWTH_COLUMNS),
        "wall_ratio_made": backfill["wall_ratio_calls_made"],
        "time_scale": f"{backfill['time_scale']:g}",
        "minute_s": f"{60 / backfill['time_scale']:g}",
        "day_h": f"{24 / backfill['time_scale']:g}",
        "cpu_s": backfill["cpu_s"],
        "cpu_per_window": round(backfill["cpu_s"] / max(backfill["api_calls"], 1) * 60, 1),
        "naive_time_scale": f"{naive['time_scale']:g}",
        "naive_rate_limited": naive["rate_limited"],
        "naive_calls": naive["calls"],
        "naive_sandbox_s": naive["sandbox_s"],
        "naive_forced_ratio": backfill["naive_wall_ratio_forced"],
        "live_invoices": live["invoices"],
        "live_rate": f"{live['rate_per_s']:g}",
        "live_mode": live["mode"],
        "poll_s": f"{live['poll_s']:g}",
        "live_table": _table(
            ["p50 (s)", "p95 (s)", "p99 (s)", "max (s)"],
            [[live["p50_s"], live["p95_s"], live["p99_s"], live["max_s"]]],
        ),
        "cpu_us": engine["cpu_us_per_invoice"],
        "engine_invoices": engine["invoices"],
        "engine_requests": engine["requests"],
        "hot_spots_table": _table(["function", "calls", "own s", "cumulative s", "share of run"], hot),
        "peak_rss_mb": data["memory"]["backfill_peak_rss_mb"],
    }
    from bench import many

    return Template(TEMPLATE.read_text()).substitute({**values, **many.section(data)})
