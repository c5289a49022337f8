"""The distributed deployment: PostgreSQL + Redis, run in a process of its own (Django binds one database per
process), reusing the reliability campaign's database, its own redis-server and its consumer fleet.

- `scale_out`: many organisations' invoices issued while no consumer runs, then 1, 2 and 4 `run_huey`
  consumers (2 worker threads each, as deployed) ring every connection at once and sync them all: wall and
  objects (customers + invoices) per second for each count. Each count gets organisations of its own.
- `live` on PostgreSQL + Redis: bench/live.py's many-organisation latency, through gunicorn and 2 consumers.

`python -m bench.scale_out --out DIR ...` writes DIR/distributed.json; `run_distributed` (bench.run) starts
it and reads that back."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ll_bench")
RESULT = "distributed.json"
# Xero answers a call in a few hundred milliseconds (a batch PUT of 50 takes longer); the loopback sandbox in
# a few. The second set of runs holds every call this long, as the real ledger would.
LEDGER_LATENCY_MS = 300


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="recreated for the run")
    parser.add_argument("--orgs", type=int, default=40)
    parser.add_argument("--invoices-each", type=int, default=25)
    parser.add_argument(
        "--latency-ms", type=int, default=LEDGER_LATENCY_MS, help="ledger latency of the second set of runs"
    )
    parser.add_argument("--consumers", default="1,2,4")
    parser.add_argument("--live-orgs", type=int, default=50)
    parser.add_argument("--live-invoices", type=int, default=300)
    parser.add_argument("--live-rate", type=float, default=10.0)
    return parser.parse_args(argv)


@contextlib.contextmanager
def fleet(env: Any, consumers: int, web: bool) -> Iterator[Any]:
    """`consumers` run_huey processes and, if `web`, gunicorn (then the first consumer runs the schedules),
    configured for the Xero app this process is configured for now; stopped on leaving."""
    from django.conf import settings

    from bench.live import ledger_settings
    from reliability.services import Fleet

    running = Fleet(env, ledger_settings(settings), consumers)
    try:
        if web:
            running.start()
        else:
            # No schedules: the sweeper would ring every connection with due records the moment it starts.
            running.processes = [running.start_consumer(periodic=False) for _ in range(consumers)]
        yield running
    finally:
        running.stop()


def measure_count(
    settings: Any, sandbox: Any, env: Any, count: int, orgs: int, each: int, latency_ms: int
) -> dict[str, Any]:
    """One consumer count on organisations of its own, every ledger call held `latency_ms` first."""
    from bench.orgs import connected_orgs
    from bench.tenants import CUSTOMERS, connection_ids, issue_all, rung_at_once, wait_synced
    from ledgerlink.sync.models import SyncRecord, SyncState

    made = connected_orgs(settings, sandbox, orgs, CUSTOMERS, prefix=f"Bench Scale {count} {latency_ms}")
    before = SyncRecord.objects.filter(kind="invoice", state=SyncState.SYNCED).count()
    issue_all(made, each, lambda _: None)
    if latency_ms:
        sandbox.control.set_faults({"kind": "latency", "latency_ms": latency_ms})
    rung = connection_ids(made)
    with rung_at_once(rung, fleet(env, count, web=False)) as started:
        wait_synced(rung, before + orgs * each, 600.0)
        wall_s = time.perf_counter() - started
    sandbox.control.clear_faults()
    objects = orgs * (each + CUSTOMERS)
    return {
        "consumers": count,
        "objects": objects,
        "wall_s": round(wall_s, 3),
        "objects_per_s": round(objects / wall_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from reliability.env import Environment, recreate_database, setup_django
    from reliability.services import OwnRedis

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    redis_server = OwnRedis(out)
    redis_server.start()
    try:
        env = Environment(args.database_url, redis_server.url, "ll-bench", out, 1.0, 120.0, 10.0)
        recreate_database(env)
        setup_django(env)
        results = measure(args, env)
    finally:
        redis_server.stop()
    (out / RESULT).write_text(json.dumps(results, indent=2))
    return 0


def measure(args: argparse.Namespace, env: Any) -> dict[str, Any]:
    from django.conf import settings

    from bench.live import run_live_many
    from ledgerlink.devtools.sandboxes import running_sandbox

    counts = [int(n) for n in args.consumers.split(",")]
    with running_sandbox("xero") as sandbox:
        rounds = {
            latency: [
                measure_count(settings, sandbox, env, n, args.orgs, args.invoices_each, latency)
                for n in counts
            ]
            for latency in (0, args.latency_ms)
        }
    with running_sandbox("xero") as sandbox:

        @contextlib.contextmanager
        def service() -> Iterator[str]:
            with fleet(env, 2, web=True) as running:
                yield running.base_url

        live = run_live_many(
            settings,
            sandbox,
            service,
            organisations=args.live_orgs,
            invoices=args.live_invoices,
            rate_per_s=args.live_rate,
        )
    return {"scale_out": scale_out_json(rounds, args), "live": live_json(live)}


def scale_out_json(rounds: dict[int, list[dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """`runs` against the loopback sandbox (CPU-bound: what the cores allow), `runs_with_latency` with every
    ledger call held as long as Xero takes to answer one."""

    def by_count(points: list[dict[str, Any]]) -> dict[str, Any]:
        one = points[0]["wall_s"]
        return {str(p["consumers"]): {**p, "speedup": round(one / p["wall_s"], 2)} for p in points}

    return {
        "organisations": args.orgs,
        "invoices_each": args.invoices_each,
        "mode": "PostgreSQL + Redis, run_huey --workers 2 per consumer",
        "cores": os.cpu_count(),
        "latency_ms": args.latency_ms,
        "runs": by_count(rounds[0]),
        "runs_with_latency": by_count(rounds[args.latency_ms]),
    }


def live_json(live: Any) -> dict[str, Any]:
    return {
        "organisations": live.organisations,
        "invoices": live.invoices,
        "rate_per_s": live.rate_per_s,
        "p50_s": live.percentile(50),
        "p95_s": live.percentile(95),
        "p99_s": live.percentile(99),
        "max_s": max(live.latencies_s),
    }


def run_distributed(out: Path, options: list[str]) -> dict[str, Any]:
    """bench.run's side: this module in its own process; its results."""
    argv = [sys.executable, "-m", "bench.scale_out", "--out", str(out / "distributed"), *options]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    with (out / "distributed.log").open("w") as log:
        subprocess.run(argv, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    return dict(json.loads((out / "distributed" / RESULT).read_text()))


if __name__ == "__main__":
    sys.exit(main())
