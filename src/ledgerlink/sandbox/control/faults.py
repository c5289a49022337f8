"""Fault switches: rules that pick calls (method, path pattern, tenant, app) and make them fail.

A fault is named once here; each provider renders it in its own status, body and headers (xero/faults.py).
Rules fire for the next ``count`` matching calls, for a seeded ``fraction`` of them, or for every match while
they last (``duration_s`` sandbox seconds, or until cleared).
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .clock import SandboxClock


class Fault(StrEnum):
    """Every fault the control API can switch on."""

    SERVER_ERROR = "server_error"  # 500, raised inside the request, so an idempotency key caches it
    MAINTENANCE = "maintenance"  # 503 API offline for maintenance (gateway level)
    OFFLINE = "offline"  # 503 "The Organisation is offline" (gateway level, per tenant)
    RATE_LIMIT = "rate_limit"  # 429 minute-limit storm, with Retry-After
    RATE_LIMIT_NO_RETRY_AFTER = "rate_limit_no_retry_after"  # 429 saying nothing of when to come back
    DROP = "drop"  # close the connection before running the request (never committed)
    DROP_AFTER_COMMIT = "drop_after_commit"  # run and commit the write, then close without a response
    LATENCY = "latency"  # hold the call (and its in-flight slot) for latency_ms first
    TOKEN_EXPIRED = "token_expired"  # answer as if the access token had expired
    TOKEN_REVOKED = "token_revoked"  # answer as if the grant had been revoked
    # Another user saved the object between the client's read and its write: the stored object's SyncToken
    # moves on first, so the write meets the ledger's own stale-object refusal (QuickBooks 5010). Ledgers
    # without a version token ignore it.
    STALE_SYNC_TOKEN = "stale_sync_token"
    # The token endpoint ran (a refresh rotated the grant, a code was spent) and the answer never arrived.
    TOKEN_RESPONSE_LOST = "token_response_lost"


_STATUS_ALIASES = {500: Fault.SERVER_ERROR, 503: Fault.MAINTENANCE, 429: Fault.RATE_LIMIT}
# Gateway faults answer before the idempotency store is consulted, so they are never cached for a key.
GATEWAY_FAULTS = frozenset(
    {Fault.MAINTENANCE, Fault.OFFLINE, Fault.RATE_LIMIT, Fault.RATE_LIMIT_NO_RETRY_AFTER, Fault.DROP}
)
TOKEN_FAULTS = frozenset({Fault.TOKEN_EXPIRED, Fault.TOKEN_REVOKED})
# Faults of the OAuth token endpoint, not of data calls.
IDENTITY_FAULTS = frozenset({Fault.TOKEN_RESPONSE_LOST})


class FaultRuleError(ValueError):
    """A rule in a control API request is malformed; the message names the field."""


@dataclass(frozen=True)
class CallInfo:
    """What a rule can match on."""

    method: str
    path: str
    tenant_id: str | None
    client_id: str | None
    body: bytes = b""


@dataclass
class FaultRule:
    """One switch. ``count``/``fraction``/``duration_s`` limit how often and how long it fires."""

    id: int
    kind: Fault
    method: str = "*"
    path: str = "*"
    tenant_id: str | None = None
    client_id: str | None = None
    body: str | None = None  # the call's body contains this text (e.g. the entity a batch carries)
    count: int | None = None
    fraction: float | None = None
    seed: int = 0
    latency_ms: int = 0
    expires_at: float | None = None
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, call: CallInfo, now: float) -> bool:
        if self.expires_at is not None and now >= self.expires_at:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.method != "*" and self.method.upper() != call.method.upper():
            return False
        if not fnmatch.fnmatchcase(call.path.lower(), self.path.lower()):
            return False
        if self.tenant_id is not None and self.tenant_id != call.tenant_id:
            return False
        if self.body is not None and self.body.encode() not in call.body:
            return False
        return self.client_id is None or self.client_id == call.client_id

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "method": self.method,
            "path": self.path,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "body": self.body,
            "count": self.count,
            "fraction": self.fraction,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "expires_at": self.expires_at,
            "fired": self.fired,
        }


def _int_field(raw: dict[str, Any], name: str, minimum: int) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise FaultRuleError(f"{name} must be an integer >= {minimum}")
    return value


def _kind(raw: dict[str, Any]) -> Fault:
    if raw.get("kind") in (None, "error") and "status" in raw:
        try:
            return _STATUS_ALIASES[int(raw["status"])]
        except (KeyError, ValueError, TypeError):
            raise FaultRuleError("status must be one of 429, 500, 503") from None
    try:
        return Fault(str(raw.get("kind")))
    except ValueError:
        raise FaultRuleError(f"kind must be one of {', '.join(f.value for f in Fault)}") from None


class FaultBoard:
    """The active rules. Thread-safe; rules are evaluated in the order they were added."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, raw: dict[str, Any]) -> FaultRule:
        """Validate one rule from the control API and switch it on."""
        if not isinstance(raw, dict):
            raise FaultRuleError("each rule must be an object")
        kind = _kind(raw)
        fraction = raw.get("fraction")
        if fraction is not None and (not isinstance(fraction, int | float) or not 0 <= fraction <= 1):
            raise FaultRuleError("fraction must be a number between 0 and 1")
        duration = raw.get("duration_s")
        if duration is not None and (not isinstance(duration, int | float) or duration <= 0):
            raise FaultRuleError("duration_s must be a positive number")
        latency = _int_field(raw, "latency_ms", 0) or 0
        if kind is Fault.LATENCY and latency <= 0:
            raise FaultRuleError("latency_ms must be positive for a latency rule")
        for name in ("method", "path", "tenant_id", "client_id", "body"):
            if raw.get(name) is not None and not isinstance(raw[name], str):
                raise FaultRuleError(f"{name} must be a string")
        seed = _int_field(raw, "seed", 0) or 0
        with self._lock:
            rule = FaultRule(
                id=next(self._ids),
                kind=kind,
                method=raw.get("method") or "*",
                path=raw.get("path") or "*",
                tenant_id=raw.get("tenant_id"),
                client_id=raw.get("client_id"),
                body=raw.get("body"),
                count=_int_field(raw, "count", 1),
                fraction=None if fraction is None else float(fraction),
                seed=seed,
                latency_ms=latency,
                expires_at=None if duration is None else self.clock.now() + float(duration),
                _rng=random.Random(seed),
            )
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def fire(self, call: CallInfo, kinds: frozenset[Fault]) -> list[FaultRule]:
        """The rules of the given kinds that fire for this call (each firing is counted)."""
        now = self.clock.now()
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or not rule.matches(call, now):
                    continue
                if rule.fraction is not None and rule._rng.random() >= rule.fraction:
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired
