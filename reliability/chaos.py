"""The fault plan, drawn once from the seed, and the thread that plays it: ledger faults switched on in the
sandboxes through their control API, consumers SIGKILLed, the consumers' database sessions cut, Redis
restarted, and the whole service stopped and started. Every action is logged with its time."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .env import CONSUMER_APP, Environment, cut_sessions
from .services import Fleet, OwnRedis
from .world import World

# The sandbox rule kinds, by what the report calls them (docs/sandbox.md "Fault rules").
LEDGER_FAULTS = (
    "server_error",
    "maintenance",
    "rate_limit",
    "rate_limit_no_retry_after",
    "offline",
    "slow_beyond_timeout",
    "drop_after_commit",
    "token_expired",
    "access_tokens_expired",
    "token_response_lost",
)
QUICKBOOKS_ONLY = ("stale_sync_token",)
REPORTED_AS = {"latency": "slow_beyond_timeout"}


@dataclass(frozen=True)
class Action:
    at: float
    what: str
    provider: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sizes:
    window_s: float  # faults happen within this many seconds of the start
    ledger_faults: int  # per provider, each kind at least once
    kills: int
    db_cuts: int
    redis_restarts: int
    service_restarts: int


def _kinds(provider: str) -> tuple[str, ...]:
    return LEDGER_FAULTS + (QUICKBOOKS_ONLY if provider == "quickbooks" else ())


def draw(world: World, sizes: Sizes, rng: random.Random) -> list[Action]:
    """The whole plan from the seed: every ledger fault kind at least once per provider, the rest at
    random; process faults at random moments inside the window."""
    actions = []
    for provider in ("xero", "quickbooks"):
        kinds = list(_kinds(provider))
        extra = [rng.choice(kinds) for _ in range(max(0, sizes.ledger_faults - len(kinds)))]
        # Each kind's first switch comes in the first half, while there is traffic for it to meet.
        picks = [(kind, 0.5) for kind in kinds] + [(kind, 0.92) for kind in extra]
        for kind, latest in picks:
            org = rng.choice(world.of(provider))
            at = rng.uniform(0.02, latest) * sizes.window_s
            actions.append(Action(at, kind, provider, {"tenant_id": org.tenant_id, "n": rng.randint(1, 6)}))
    for what, count in (
        ("kill", sizes.kills),
        ("db_cut", sizes.db_cuts),
        ("redis_restart", sizes.redis_restarts),
        ("service_restart", sizes.service_restarts),
    ):
        for _ in range(count):
            actions.append(
                Action(rng.uniform(0.05, 0.8) * sizes.window_s, what, detail={"pick": rng.random()})
            )
    return sorted(actions, key=lambda action: action.at)


def rule(action: Action, client_id: str, read_timeout_s: float, time_scale: float) -> dict[str, Any] | None:
    """The sandbox rule for a ledger fault (None: done through another control call)."""
    tenant, n = action.detail["tenant_id"], action.detail["n"]
    write = "POST" if action.provider == "quickbooks" or n % 2 else "PUT"
    rules: dict[str, dict[str, Any]] = {
        "server_error": {"kind": "server_error", "tenant_id": tenant, "count": n},
        "maintenance": {"kind": "maintenance", "count": n},
        "rate_limit": {"kind": "rate_limit", "tenant_id": tenant, "count": 2 + n},
        "rate_limit_no_retry_after": {
            "kind": "rate_limit_no_retry_after",
            "tenant_id": tenant,
            "count": 2 + n,
        },
        # An organisation offline for 5 to 30 real seconds (duration_s is in sandbox seconds).
        "offline": {"kind": "offline", "tenant_id": tenant, "duration_s": 5 * n * time_scale},
        "slow_beyond_timeout": {
            "kind": "latency",
            "tenant_id": tenant,
            "latency_ms": int((read_timeout_s + 1.5) * 1000),
            "count": 1 + n % 2,
        },
        "drop_after_commit": {
            "kind": "drop_after_commit",
            "tenant_id": tenant,
            "method": write,
            "count": 1 + n % 3,
        },
        "token_expired": {"kind": "token_expired", "tenant_id": tenant, "count": 1},
        "token_response_lost": {"kind": "token_response_lost", "client_id": client_id, "count": 1},
        "stale_sync_token": {
            "kind": "stale_sync_token",
            "tenant_id": tenant,
            "method": "POST",
            "path": "*/payment" if n % 2 else "*/invoice",
            "count": 1,
        },
    }
    return rules.get(action.what)


@dataclass
class Chaos:
    """Plays the plan on its own thread; `log` keeps (real seconds since start, what, where)."""

    world: World
    fleet: Fleet
    env: Environment
    redis: OwnRedis
    plan: list[Action]
    rng: random.Random
    log: list[tuple[float, str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    on_service_restart: Callable[[str], None] | None = None

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._play, daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _note(self, what: str, where: str = "") -> None:
        self.log.append((round(time.monotonic() - self.started, 2), what, where))
        self.counts[what] += 1

    def _play(self) -> None:
        for action in self.plan:
            wait = action.at - (time.monotonic() - self.started)
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                self._do(action)
            except Exception as error:  # a control call that failed is reported, and the plan goes on
                self.errors.append(f"{action.what}: {type(error).__name__}: {error}")

    def _do(self, action: Action) -> None:
        pick = action.detail.get("pick", 0.0)
        if action.what == "kill":
            index = int(pick * len(self.fleet.processes))
            self.fleet.kill(index)
            self._note("kill", f"consumer {index}")
        elif action.what == "db_cut":
            self._note("db_cut", f"{cut_sessions(self.env, CONSUMER_APP)} sessions")
        elif action.what == "redis_restart":
            self.redis.restart(down_s=1.0 + 2 * pick)
            self._note("redis_restart", "SIGTERM, down, started again (no persistence: its queue is lost)")
        elif action.what == "service_restart":
            self.fleet.stop()
            time.sleep(2.0 + 3 * pick)
            self.fleet.start()
            self._note("service_restart", "web and every consumer stopped, then started")
        else:
            self._ledger_fault(action)

    def _ledger_fault(self, action: Action) -> None:
        sandbox = self.world.sandboxes[action.provider]
        harness = self.world.harnesses[action.provider]
        if action.what == "access_tokens_expired":
            grants = sandbox.control.expire_tokens(
                client_id=harness.client_id, tenant_id=action.detail["tenant_id"]
            )
            self.counts[f"{action.provider}:access_tokens_expired"] += grants
            self._note("ledger_fault", f"{action.provider} access tokens expired")
            return
        made = rule(action, harness.client_id, self.env.read_timeout_s, self.env.time_scale)
        assert made is not None, action.what
        sandbox.control.set_faults(made)
        if action.what == "token_response_lost":
            # The next refresh loses its answer: end this tenant's access tokens so one comes now.
            sandbox.control.expire_tokens(client_id=harness.client_id, tenant_id=action.detail["tenant_id"])
        self._note("ledger_fault", f"{action.provider} {action.what}")


def fired(world: World, counts: Counter[str]) -> dict[str, dict[str, int]]:
    """What each sandbox's rules actually did (their `fired` counts), by the report's names, per provider."""
    result: dict[str, dict[str, int]] = {}
    for provider, sandbox in world.sandboxes.items():
        by_kind: Counter[str] = Counter()
        for made in sandbox.control.faults():
            by_kind[REPORTED_AS.get(made["kind"], made["kind"])] += int(made["fired"])
        by_kind["access_tokens_expired"] += counts.get(f"{provider}:access_tokens_expired", 0)
        result[provider] = {kind: by_kind.get(kind, 0) for kind in _kinds(provider)}
    return result
