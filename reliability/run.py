"""`make chaos` = `python -m reliability.run`: the fault campaign of issue 22, on PostgreSQL + Redis with
several consumers, against both ledgers' sandboxes. Writes RELIABILITY.md and bench/reliability.json.
`--smoke` is the short seeded version the test suite runs (a few hundred objects, 2 kills, under a minute)
and writes only under its --out folder."""

from __future__ import annotations

import argparse
import os
import random
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .env import OUT, ROOT, Environment, recreate_database, setup_django
from .services import OwnRedis

DEFAULT_SEED = 22_2026


@dataclass(frozen=True)
class Config:
    seed: int
    orgs: int
    invoices: int
    customers: int
    window_s: float
    threads: int
    consumers: int
    kills: int
    db_cuts: int
    redis_restarts: int
    service_restarts: int
    ledger_faults: int
    time_scale: float
    soak_requests: int
    soak_seconds: float
    soak_rate: float
    converge_timeout_s: float
    database_url: str
    out: Path
    results: Path | None
    markdown: Path | None
    command: str


def parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser(prog="python -m reliability.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the short seeded version (under a minute)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--orgs", type=int, default=20, help="organisations, half on each ledger")
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=25, help="per organisation")
    parser.add_argument(
        "--window-s", type=float, default=420.0, help="seconds over which work and faults come"
    )
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--db-cuts", type=int, default=3)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--service-restarts", type=int, default=1)
    parser.add_argument("--ledger-faults", type=int, default=40, help="fault rules per ledger")
    parser.add_argument(
        "--time-scale", type=float, default=10.0, help="sandbox (and limiter) seconds per second"
    )
    parser.add_argument("--soak-requests", type=int, default=4000)
    parser.add_argument("--soak-rate", type=float, default=12.0, help="soak requests per second")
    parser.add_argument("--converge-timeout-s", type=float, default=900.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ll_chaos"),
        help="recreated for the run",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.smoke:
        sizes = dict(orgs=4, invoices=110, customers=6, window_s=18.0, consumers=2, kills=2, db_cuts=1)
        sizes.update(redis_restarts=1, service_restarts=1, ledger_faults=11, soak_requests=80, soak_rate=6.0)
        sizes.update(converge_timeout_s=300.0)
        for name, value in sizes.items():
            setattr(args, name, value)
    if not args.smoke:
        args.results = args.results or ROOT / "bench" / "reliability.json"
        args.markdown = args.markdown or ROOT / "RELIABILITY.md"
    command = os.environ.get("CHAOS_COMMAND") or "python -m reliability.run " + shlex.join(argv)
    return Config(
        seed=args.seed,
        orgs=args.orgs,
        invoices=args.invoices,
        customers=args.customers,
        window_s=args.window_s,
        threads=3,
        consumers=args.consumers,
        kills=args.kills,
        db_cuts=args.db_cuts,
        redis_restarts=args.redis_restarts,
        service_restarts=args.service_restarts,
        ledger_faults=args.ledger_faults,
        time_scale=args.time_scale,
        soak_requests=args.soak_requests,
        soak_seconds=args.window_s,
        soak_rate=args.soak_rate,
        converge_timeout_s=args.converge_timeout_s,
        database_url=args.database_url,
        out=args.out,
        results=args.results,
        markdown=args.markdown,
        command=command,
    )


def say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    config = parse(sys.argv[1:] if argv is None else argv)
    config.out.mkdir(parents=True, exist_ok=True)
    # A redis-server of the campaign's own, so "Redis restarted" is a real restart (make chaos installs it).
    redis_server = OwnRedis(config.out)
    redis_server.start()
    env = Environment(
        database_url=config.database_url,
        redis_url=redis_server.url,
        queue=f"ll-chaos-{config.seed}",
        out=config.out,
        time_scale=config.time_scale,
        lease_s=30.0,
        read_timeout_s=4.0,
    )
    recreate_database(env)
    setup_django(env)
    from .campaign import run_campaign  # imports Django models: after setup

    try:
        report = run_campaign(config, env, redis_server, say)
    finally:
        redis_server.stop()
    from .report import write

    write(report, config)
    clean = all(
        p["duplicates"] == 0 and p["missing"] == 0 and p["extra"] == 0 and p["mismatches"] == 0
        for p in report["providers"].values()
    )
    lost = report["soak"]["lost"]
    say(f"{'CLEAN' if clean and not lost else 'PROBLEMS FOUND'}: see {config.out / 'report.json'}")
    return 0 if clean and not lost else 1


def run_soak_process(config_file: Path, out_file: Path, env: Environment) -> subprocess.Popen[bytes]:
    """The soak in a second process on loopback."""
    log = (env.out / "soak.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "reliability.soak", str(config_file), str(out_file)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def soak_config(config: Config, orgs: list[Any], base_url: str) -> dict[str, Any]:
    from ledgerlink.cashflow.services import organisation_today

    return {
        "base_url": base_url,
        "seed": config.seed,
        "max_requests": config.soak_requests,
        "max_seconds": config.soak_seconds,
        "rate_per_s": config.soak_rate,
        "orgs": [
            {
                "provider": org.provider,
                "api_key": org.api_key,
                "customer_ids": [str(c.pk) for c in org.customers],
                "tax_rate_id": str(org.gst.pk),
                "today": organisation_today(org.organisation).isoformat(),
            }
            for org in orgs
        ],
    }


def seeded(config: Config, stream: str) -> random.Random:
    """One generator per stream (world, work, chaos), so a change in one leaves the others as they were."""
    return random.Random(f"{config.seed}:{stream}")


if __name__ == "__main__":
    sys.exit(main())
