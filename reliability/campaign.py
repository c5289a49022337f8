"""The campaign itself: build the world, start the fleet and the soak, play the work and the faults at once,
stop the faults, then run the independent checker until the books agree (or time runs out)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection as db

from ledgerlink.cashflow.models import Invoice, Payment
from ledgerlink.sync.models import SyncRecord, SyncState

from . import chaos, checker, workload
from .env import Environment
from .run import Config, run_soak_process, seeded, soak_config
from .services import Fleet, OwnRedis
from .world import PROVIDERS, World, add_organisation, start_sandboxes

CHECK_EVERY_S = 5.0
SAMPLE_EVERY_S = 10.0


class Progress:
    """For the report's chart only (the verdict never reads LedgerLink's tables): every few seconds, how
    many sync records are synced and how many are still open."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(SAMPLE_EVERY_S):
                synced = SyncRecord.objects.filter(state=SyncState.SYNCED).count()
                open_ = SyncRecord.objects.exclude(state=SyncState.SYNCED).count()
                self.samples.append((round(time.monotonic() - self.started), synced, open_))
        finally:
            db.close()


def build(config: Config, say: Callable[[str], None]) -> World:
    world = start_sandboxes(config.time_scale)
    rng = seeded(config, "world")
    for index in range(config.orgs):
        add_organisation(world, PROVIDERS[index % 2], index, config.customers, rng)
    say(
        f"{config.orgs} organisations connected through OAuth and mapped "
        f"({len(world.of('xero'))} Xero, {len(world.of('quickbooks'))} QuickBooks)"
    )
    return world


def converge(
    world: World, started_at: float, timeout_s: float, say: Callable[[str], None]
) -> tuple[dict[str, checker.Verdict], float | None]:
    """Check until every provider's books agree; the seconds that took after `started_at`, or None."""
    deadline = started_at + timeout_s
    while True:
        verdicts = checker.check(world)
        if all(v.clean for v in verdicts.values()):
            return verdicts, round(time.monotonic() - started_at, 1)
        if time.monotonic() > deadline:
            return verdicts, None
        waiting = dict(
            Counter(SyncRecord.objects.exclude(state=SyncState.SYNCED).values_list("state", flat=True))
        )
        say(
            "not yet (missing, duplicates, extra, mismatches): "
            f"{ {p: (v.missing, v.duplicates, v.extra, v.mismatches) for p, v in verdicts.items()} }; "
            f"records open {waiting}"
        )
        time.sleep(CHECK_EVERY_S)


def soak_verdict(result: dict[str, Any], world: World) -> dict[str, Any]:
    """Every invoice and payment the API accepted is in CashFlow and, for invoices, in the ledger's books."""
    lost = []
    numbers_by_provider: dict[str, set[str]] = {}
    for provider in PROVIDERS:
        numbers: set[str] = set()
        for org in world.of(provider):
            numbers |= set(
                checker.READERS[provider](world.sandboxes[provider].control.ledger(org.tenant_id)).invoices
            )
        numbers_by_provider[provider] = numbers
    for accepted in result["accepted_invoices"]:
        if not Invoice.objects.filter(pk=accepted["id"], number=accepted["number"]).exists():
            lost.append(f"invoice {accepted['number']} not in CashFlow")
        elif accepted["number"] not in numbers_by_provider[accepted["provider"]]:
            lost.append(f"invoice {accepted['number']} not in {accepted['provider']}")
    for accepted in result["accepted_payments"]:
        if not Payment.objects.filter(pk=accepted["id"], invoice_id=accepted["invoice_id"]).exists():
            lost.append(f"payment {accepted['id']} not in CashFlow")
    return {
        "requests": result["requests"],
        "by_provider": result["by_provider"],
        "errors": result["errors"],
        "error_examples": result["error_examples"],
        "unanswered_retried": result["unanswered_retried"],
        "p50_s": result["p50_s"],
        "p99_s": result["p99_s"],
        "seconds": result["seconds"],
        "accepted_invoices": len(result["accepted_invoices"]),
        "accepted_payments": len(result["accepted_payments"]),
        "lost": len(lost),
        "lost_examples": lost[:10],
    }


def gave_up(provider: str) -> int:
    """Objects the engine stopped trying (needs attention) at the end: for the report's `errors`."""
    return SyncRecord.objects.filter(connection__provider=provider, state=SyncState.NEEDS_ATTENTION).count()


def run_campaign(
    config: Config, env: Environment, redis_server: OwnRedis, say: Callable[[str], None]
) -> dict[str, Any]:
    began = time.monotonic()
    world = build(config, say)
    fleet = Fleet(env, world.ledger_settings(), config.consumers)
    try:
        fleet.start()
        say(f"{config.consumers} consumers and the web service up on {fleet.base_url}")
        sizes = chaos.Sizes(
            config.window_s,
            config.ledger_faults,
            config.kills,
            config.db_cuts,
            config.redis_restarts,
            config.service_restarts,
        )
        plan = chaos.draw(world, sizes, seeded(config, "chaos"))
        player = chaos.Chaos(world, fleet, env, redis_server, plan, seeded(config, "chaos-play"))
        slots = workload.plan(world.orgs, config.invoices, config.window_s, seeded(config, "work"))
        soak_in, soak_out = env.out / "soak-config.json", env.out / "soak-result.json"
        soak_in.write_text(json.dumps(soak_config(config, world.orgs[:2], fleet.base_url)))
        soak = run_soak_process(soak_in, soak_out, env)
        tally = workload.Tally()
        say(f"seed {config.seed}: {len(slots)} invoice stories, {len(plan)} faults, {config.window_s:.0f}s")
        progress = Progress().__enter__()
        player.start()
        workload.run(slots, config.threads, tally, stop=lambda: False)
        say(
            f"work done: {tally.objects} objects ({tally.invoices} invoices, {tally.payments} payments, "
            f"{sum(tally.reversals.values())} reversals, {tally.cancellations} cancellations)"
        )
        player.join()
        soak.wait(timeout=config.window_s + 180)
        faults = chaos.fired(world, player.counts)
        for sandbox in world.sandboxes.values():
            sandbox.control.clear_faults()
        last_fault = time.monotonic()
        say(f"faults over ({dict(player.counts)}); checking the books every {CHECK_EVERY_S:.0f}s")
        verdicts, converge_s = converge(world, last_fault, config.converge_timeout_s, say)
        progress.__exit__()
        soak_result = soak_verdict(json.loads(soak_out.read_text()), world)
        providers = {}
        for provider in PROVIDERS:
            verdict = verdicts[provider]
            providers[provider] = {
                "organisations": len(world.of(provider)),
                "objects": verdict.objects,
                "contacts": verdict.contacts,
                "faults": faults[provider],
                "kills": player.counts["kill"],
                "db_cuts": player.counts["db_cut"],
                "redis_restarts": player.counts["redis_restart"],
                "service_restarts": player.counts["service_restart"],
                "duplicates": verdict.duplicates,
                "missing": verdict.missing,
                "extra": verdict.extra,
                "mismatches": verdict.mismatches,
                "converge_s": converge_s,
                "errors": gave_up(provider),
                "problems": verdict.examples,
            }
        return {
            "seed": config.seed,
            "command": config.command,
            "time_scale": config.time_scale,
            "consumers": config.consumers,
            "window_s": config.window_s,
            "redis": "the campaign's own redis-server, restarted for real (SIGTERM, then started again)"
            if redis_server is not None
            else "shared redis: CLIENT KILL and queue keys deleted",
            "workload": {
                "invoices": tally.invoices,
                "payments": tally.payments,
                "reversals": dict(tally.reversals),
                "cancellations": tally.cancellations,
                "refused_steps": len(tally.failures),
                "refused_examples": tally.failures[:10],
            },
            "process_faults": [list(entry) for entry in player.log if entry[1] != "ledger_fault"],
            "chaos_errors": player.errors,
            "providers": providers,
            "soak": soak_result,
            "wall_s": round(time.monotonic() - began, 1),
            "timeline": progress.samples,
            "faults_end_s": round(last_fault - progress.started),
        }
    finally:
        fleet.stop()
        world.stop()
