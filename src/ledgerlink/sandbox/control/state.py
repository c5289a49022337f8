"""Everything a sandbox remembers: apps, tenants (with their provider-owned ledgers), OAuth grants, codes,
connections and the request log; in memory, optionally persisted to a JSON file after every change.

One re-entrant lock guards it all. Calls are short, so a single lock keeps every write atomic (no partial
batch can be seen) without costing the loopback latency anything measurable.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .clock import SandboxClock

REQUEST_LOG_LIMIT = 200_000


@dataclass(frozen=True)
class LoggedRequest:
    """One line of a tenant's request log, as the fault and benchmark suites count calls."""

    seq: int
    at: float
    method: str
    path: str
    status: int
    tenant_id: str | None
    client_id: str | None
    idempotency_key: str | None
    replayed: bool
    fault: str | None


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    raise TypeError(f"cannot persist {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "__decimal__" in obj:
        return Decimal(obj["__decimal__"])
    return obj


def new_id() -> str:
    return str(uuid.uuid4())


class Store:
    """The sandbox's memory. Every field is plain data so it round-trips through JSON."""

    def __init__(self, clock: SandboxClock, path: Path | None = None) -> None:
        self.clock = clock
        self.path = path
        self.lock = threading.RLock()
        self.apps: dict[str, dict[str, Any]] = {}
        self.tenants: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.connections: dict[str, dict[str, Any]] = {}
        self.signing_key_pem: str | None = None
        self._log: deque[LoggedRequest] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._log_seq = 0
        if path is not None and path.exists():
            self._load(path)

    # -- persistence -------------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        return {
            "clock_now": self.clock.now(),
            "apps": self.apps,
            "tenants": self.tenants,
            "grants": self.grants,
            "codes": self.codes,
            "connections": self.connections,
            "signing_key_pem": self.signing_key_pem,
        }

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(), object_hook=_decode)
        self.clock.resume_from(float(data.get("clock_now", 0)))
        self.apps = data["apps"]
        self.tenants = data["tenants"]
        self.grants = data["grants"]
        self.codes = data["codes"]
        self.connections = data["connections"]
        self.signing_key_pem = data.get("signing_key_pem")

    def save(self) -> None:
        """Write the whole state atomically (temp file + rename) when a state file was given."""
        if self.path is None:
            return
        with self.lock:
            text = json.dumps(self._snapshot(), default=_encode, separators=(",", ":"))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".sandbox-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(tmp, self.path)

    def reset(self) -> None:
        """Forget every app, tenant, grant and logged request (the signing key stays)."""
        with self.lock:
            self.apps.clear()
            self.tenants.clear()
            self.grants.clear()
            self.codes.clear()
            self.connections.clear()
            self._log.clear()
            self.save()

    # -- request log -------------------------------------------------------------------------------------
    def log_request(self, **fields: Any) -> None:
        with self.lock:
            self._log_seq += 1
            self._log.append(LoggedRequest(seq=self._log_seq, at=self.clock.now(), **fields))

    def requests(self, tenant_id: str | None = None, client_id: str | None = None) -> list[LoggedRequest]:
        with self.lock:
            return [
                r
                for r in self._log
                if (tenant_id is None or r.tenant_id == tenant_id)
                and (client_id is None or r.client_id == client_id)
            ]
