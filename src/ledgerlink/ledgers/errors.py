"""Errors named by what happens next. Each provider's errors.py maps its ledger's bodies onto these kinds;
http.py maps transport failures. Every error carries a plain sentence for the user and, for the audit log
only, the ledger's code and correlation id."""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Base class. `message` is shown to the user; `code` and `correlation_id` go to the audit log."""

    kind: str = "error"

    def __init__(
        self, message: str, *, code: str = "", correlation_id: str = "", status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.correlation_id = correlation_id
        self.status = status

    def audit_fields(self) -> dict[str, object]:
        """What an audit log may store about this error: allowlisted, no bodies, no tokens."""
        return {
            "kind": self.kind,
            "code": self.code,
            "status": self.status,
            "correlation_id": self.correlation_id,
        }


class NeedsAttention(LedgerError):
    """The user must act (a mapping or the data); no more calls until something changes."""

    kind = "needs_attention"

    def __init__(self, message: str, *, configuration: bool = False, **kw: Any):
        super().__init__(message, **kw)
        # configuration=True: a missing/invalid/archived account or tax; a mapping change may fix it.
        self.configuration = configuration


class Retry(LedgerError):
    """Transient: 429, 5xx, offline, network before sending. `after_s` is the ledger's Retry-After."""

    kind = "retry"

    def __init__(self, message: str, *, after_s: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.after_s = after_s


class Reconnect(LedgerError):
    """The grant is gone (`invalid_grant`, revoked, tenant disconnected): the user must sign in again."""

    kind = "reconnect"


class Conflict(LedgerError):
    """The number already exists in the ledger; the engine looks it up and links or flags it."""

    kind = "conflict"


class UnknownOutcome(LedgerError):
    """Sent, no answer: the write may have committed. Replay the same key; never guess."""

    kind = "unknown_outcome"
