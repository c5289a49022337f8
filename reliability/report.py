"""bench/reliability.json and RELIABILITY.md from a campaign's report."""

from __future__ import annotations

import json
from typing import Any

from .run import Config

JSON_KEYS = (
    "objects",
    "contacts",
    "faults",
    "kills",
    "db_cuts",
    "redis_restarts",
    "service_restarts",
    "duplicates",
    "missing",
    "extra",
    "mismatches",
    "converge_s",
    "errors",
)
NAMES = {"xero": "Xero", "quickbooks": "QuickBooks Online"}
VERDICT_ROWS = ("organisations", "objects", "contacts", "duplicates", "missing", "extra", "mismatches")
LEGEND = """`objects`: CashFlow's invoices, payments, reversals and credit notes checked (contacts apart);
`duplicates`: one of them in the ledger more than once; `missing`: not there; `extra`: in the ledger but not
CashFlow's (or a payment reversed in full still there); `mismatches`: there once with another amount, balance
or status; `converge_s`: seconds from the end of the last fault to the first clean check; `errors`: objects
the engine handed to the user (needs attention) at the end. The checker (`reliability/checker.py`) reads each
ledger through its sandbox's control API, never LedgerLink's tables, and compares it with CashFlow's rows."""


FOUND = """What the campaign found in the product, each fixed with a regression test before this run:

- A replay carried a new key: a Xero payment batch held over from a full claim and topped up with an older
  payment woken meanwhile was sent newest first; its answer was lost, and the replay, claimed oldest first,
  built another key and wrote both payments again (Xero refused them only because the invoices were paid).
  Every batch is now packed in CashFlow's order (`sync/worker.py`, `tests/sync/test_engine.py`).
- A QuickBooks chargeback's delete committed and its answer was lost; rebuilding the replay read the payment
  (gone: 610) and asked the user to fix a mapping, and the invoice's cancellation waited behind it for ever.
  A replay that cannot be built again is now settled by looking the object up
  (`tests/ledgers/quickbooks/test_engine.py`).
- An access token the ledger refused as expired at a read (the customer match) was never refreshed: every
  run met the same 401 until the token's stated expiry, an hour at QuickBooks
  (`tests/sync/test_token_refused_early.py`)."""


def results(report: dict[str, Any]) -> dict[str, Any]:
    """Per provider, the figures issue 22 asks for, with the soak's requests and p99."""
    soak = report["soak"]
    out: dict[str, Any] = {"seed": report["seed"], "command": report["command"]}
    for provider, figures in report["providers"].items():
        out[provider] = {key: figures[key] for key in JSON_KEYS}
        out[provider].update(
            soak_requests=soak["by_provider"][provider]["requests"],
            soak_errors=soak["errors"],
            soak_lost=soak["lost"],
            p99_s=soak["by_provider"][provider]["p99_s"],
        )
    return out


def _table(report: dict[str, Any], rows: list[tuple[str, list[Any]]], head: str) -> list[str]:
    providers = list(report["providers"])
    lines = [
        f"| {head} | " + " | ".join(NAMES[p] for p in providers) + " |",
        "|---|" + "---|" * len(providers),
    ]
    return lines + [f"| {name} | " + " | ".join(str(v) for v in values) + " |" for name, values in rows]


def _header(report: dict[str, Any]) -> list[str]:
    work = report["workload"]
    reversals = ", ".join(f"{v} {k}" for k, v in sorted(work["reversals"].items()))
    return [
        "# Reliability: the fault campaign (issue 22)",
        "",
        f"Command: `{report['command']}`, seed **{report['seed']}** (it draws the work and the faults).",
        f"`reliability/run.py` ran {report['consumers']} `run_huey` consumers on PostgreSQL + Redis against",
        "both ledgers' sandboxes, each its own process, at time scale "
        f"{report['time_scale']:g} (rate limits, token and key lives keep their ratios);",
        f"{report['window_s']:.0f} s of work and faults, then the checker until the books agreed. "
        f"Wall time {report['wall_s']:.0f} s. Redis: {report['redis']}.",
        "",
        f"Work through CashFlow's services: {work['invoices']} invoices, {work['payments']} payments, "
        f"{sum(work['reversals'].values())} reversals ({reversals}), {work['cancellations']} cancellations; "
        f"{work['refused_steps']} steps refused by CashFlow.",
        "",
    ]


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    top = max(values) or 1
    return "".join(BARS[min(len(BARS) - 1, value * len(BARS) // (top + 1))] for value in values)


def chart(report: dict[str, Any]) -> list[str]:
    """Sync records synced and still open, sampled every few seconds through the run (LedgerLink's own
    counts, for the picture only: the verdict above comes from the ledgers' books)."""
    samples = report.get("timeline") or []
    if len(samples) < 2:
        return []
    step = max(1, len(samples) // 100)
    picked = samples[::step]
    end = report.get("faults_end_s", 0)
    return [
        "",
        f"Sync records over the run ({picked[0][0]} s to {picked[-1][0]} s, one mark per "
        f"{picked[1][0] - picked[0][0]} s; the faults ended at {end} s):",
        "",
        "```",
        f"synced {sparkline([synced for _, synced, _ in picked])}  up to {max(s for _, s, _ in picked)}",
        f"open   {sparkline([open_ for _, _, open_ in picked])}  peak {max(o for _, _, o in picked)}",
        "```",
    ]


def markdown(report: dict[str, Any]) -> str:
    providers = list(report["providers"].values())
    soak = report["soak"]
    verdicts = [(row, [f[row] for f in providers]) for row in (*VERDICT_ROWS, "converge_s", "errors")]
    kinds = sorted({k for f in providers for k in f["faults"]})
    faults = [(kind, [f["faults"].get(kind, "n/a") for f in providers]) for kind in kinds]
    first = providers[0]
    lines = _header(report) + _table(report, verdicts, "")
    lines += ["", "Ledger faults that fired (each sandbox counts its rules' firings):", ""]
    lines += _table(report, faults, "fault")
    lines += [
        "",
        f"Process faults, shared by both ledgers: {first['kills']} consumers SIGKILLed, "
        f"{first['db_cuts']} cuts",
        "of every consumer's database session (`pg_terminate_backend`), "
        f"{first['redis_restarts']} Redis restarts, {first['service_restarts']} stop and start",
        "of the whole service (web and every consumer). When (seconds into the run):",
        "",
        *[f"- {at:.1f} s {what}: {detail}" for at, what, detail in report["process_faults"]],
        "",
        f"Soak, a second process on loopback during the faults: {soak['requests']} requests, "
        f"{soak['errors']} errors, p50 {soak['p50_s']} s, p99 {soak['p99_s']} s;",
        f"{soak['unanswered_retried']} sends got no answer (the service restarting) and went again under",
        f"their Idempotency-Key; {soak['accepted_invoices']} invoices and "
        f"{soak['accepted_payments']} payments "
        f"accepted, **{soak['lost']} lost**.",
        "",
        LEGEND,
        *chart(report),
        "",
        FOUND,
    ]
    problems = [p for f in providers for p in f["problems"]]
    if problems:
        lines += ["", "Problems found:", "", *[f"- {p}" for p in problems[:30]]]
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], config: Config) -> None:
    (config.out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    if config.results is not None:
        config.results.write_text(json.dumps(results(report), indent=2) + "\n")
    if config.markdown is not None:
        config.markdown.write_text(markdown(report))
