"""Idempotency-Key replay (xero.md §4, §10 item 8).

The first response for a key is kept for a retention period (6 sandbox minutes for Xero) and replayed byte for
byte; the same key on a different request is refused; a concurrent duplicate waits for the first to finish and
receives its response. Keys are scoped per owner: the app at Xero, the company at QuickBooks.
Replays are admitted by the rate limiter first, so they count.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from enum import Enum

from .clock import SandboxClock


@dataclass(frozen=True)
class StoredResponse:
    """A response exactly as first written: status line, headers and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class _Entry:
    fingerprint: str
    expires_at: float
    done: threading.Event = field(default_factory=threading.Event)
    response: StoredResponse | None = None


class Claim(Enum):
    """What the caller holding a key must do next."""

    EXECUTE = "execute"
    REPLAY = "replay"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class Decision:
    claim: Claim
    response: StoredResponse | None = None


def fingerprint(method: str, path: str, query: str, tenant_id: str, body: bytes) -> str:
    """What makes two requests "the same request" for a key."""
    digest = hashlib.sha256()
    for part in (method.upper(), path, query, tenant_id):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyStore:
    """Keys are (client_id, key); entries expire ``retention_s`` sandbox seconds after the first call."""

    def __init__(self, clock: SandboxClock, retention_s: float = 360.0, wait_s: float = 30.0) -> None:
        self.clock = clock
        self.retention_s = retention_s
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def claim(self, client_id: str, key: str, request_fingerprint: str) -> Decision:
        """Decide whether to run the request, replay a stored response, or refuse a mismatch."""
        now = self.clock.now()
        with self._lock:
            self._purge(now)
            entry = self._entries.get((client_id, key))
            if entry is None:
                self._entries[(client_id, key)] = _Entry(request_fingerprint, now + self.retention_s)
                return Decision(Claim.EXECUTE)
        if entry.fingerprint != request_fingerprint:
            return Decision(Claim.MISMATCH)
        if not entry.done.wait(self.wait_s) or entry.response is None:
            # The first attempt is still running after a long wait: treat like a mismatch-free conflict.
            return Decision(Claim.MISMATCH)
        return Decision(Claim.REPLAY, entry.response)

    def complete(self, client_id: str, key: str, response: StoredResponse) -> None:
        """Store the first response for a key and wake any concurrent duplicate."""
        with self._lock:
            entry = self._entries.get((client_id, key))
        if entry is not None:
            entry.response = response
            entry.done.set()

    def abandon(self, client_id: str, key: str) -> None:
        """Forget a key whose request was refused before it ran (e.g. by validation of the key itself)."""
        with self._lock:
            entry = self._entries.pop((client_id, key), None)
        if entry is not None:
            entry.done.set()

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def _purge(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if e.expires_at <= now and e.done.is_set()]
        for k in expired:
            del self._entries[k]
