"""Errors named by what happens next. Each provider's errors.py maps its ledger's bodies onto these kinds;
http.py maps transport failures. Every error carries a plain sentence for the user and, for the audit log
only, the ledger's code and correlation id."""

from __future__ import annotations

from typing import Any, Literal


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


class NeedsAttention(LedgerError):
    """The user must act (a mapping or the data); no more calls until something changes."""

    kind = "needs_attention"

    def __init__(self, message: str, *, configuration: bool = False, **kw: Any):
        super().__init__(message, **kw)
        # configuration=True: a missing/invalid/archived account or tax; a mapping change may fix it.
        self.configuration = configuration


RetryScope = Literal["item", "tenant"]


class Retry(LedgerError):
    """Transient: try again later. What the engine does depends on these fields, never on an HTTP status
    (each ledger signals the same thing differently):

    - `after_s`: how long the ledger asked to wait (Retry-After), if it said.
    - `scope`: "item" for what this request carried; "tenant" when the ledger speaks for the whole
      organisation (its rate limit, offline, maintenance): every worker on it pauses for `after_s`.
    - `maybe_written`: the ledger may have committed the write before failing (a 500 after the work), so
      the next attempt looks the object up before writing again."""

    kind = "retry"

    def __init__(
        self,
        message: str,
        *,
        after_s: float | None = None,
        scope: RetryScope = "item",
        maybe_written: bool = False,
        **kw: Any,
    ):
        super().__init__(message, **kw)
        self.after_s = after_s
        self.scope = scope
        self.maybe_written = maybe_written


#: Said after a ledger's refusal of a customer whose name was free when matched (taken since, or held by
#: another kind of contact the match did not check): the next attempt reads the names again and sends a name
#: that tells the namesakes apart (each provider's `disambiguated_name`).
NAME_RACE = "It will be sent again at once under a name that tells it apart."


class TokenExpired(Retry):
    """The ledger refused the access token as expired (clock skew): refresh it, then go again."""

    kind = "token_expired"


class Reconnect(LedgerError):
    """The grant is gone (`invalid_grant`, revoked, tenant disconnected): the user must sign in again."""

    kind = "reconnect"


class Conflict(LedgerError):
    """The number already exists in the ledger; the engine looks it up and links or flags it."""

    kind = "conflict"


class UnknownOutcome(LedgerError):
    """Sent, no answer: the write may have committed. Replay the same key; never guess."""

    kind = "unknown_outcome"
