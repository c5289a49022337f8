"""What the worker needs to talk to one connection's ledger. Tests hand the engine an in-process ledger;
`open_session` opens the real one from the ledgers registry, with the mapping, the pre-flight checks and a
token kept fresh before every call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ledgerlink.ledgers.contract import Chart, Ledger, RateLimits, ResolvedMapping
from ledgerlink.ledgers.models import Connection

#: Re-opens the ledger with a fresh token (`rejected`: the ledger just refused the current one). Returns a
#: new ledger object when the token changed, None when the current one is still good. Raises `Reconnect`.
Reopen = Callable[[bool], Ledger | None]


class LedgerSession:
    """One connection's ledger for the length of a run, and the figures the engine runs it by."""

    def __init__(
        self,
        connection: Connection,
        ledger: Ledger,
        mapping: ResolvedMapping,
        *,
        chart: Chart | None = None,
        reopen: Reopen | None = None,
    ) -> None:
        self.ledger = ledger
        self.mapping = mapping
        self.provider: str = connection.provider
        self.tenant_id: str = connection.tenant_id
        self.limits: RateLimits = ledger.limits  # the ledger's own published figures
        self.key_lifetime: dt.timedelta = ledger.idempotency_window
        self.display_name: str = connection.get_provider_display()
        self.chart = chart  # the cached chart pre-flight checks against; None before the first load
        self._reopen = reopen

    def ready(self) -> Ledger:
        """The ledger, its access token refreshed first when it is about to expire (one refresh at a time
        per connection: ledgers.tokens holds the row lock)."""
        if self._reopen is not None:
            self.ledger = self._reopen(False) or self.ledger
        return self.ledger

    def token_rejected(self) -> None:
        """The ledger refused the access token as expired (clock skew): refresh unless someone already did."""
        if self._reopen is not None:
            self.ledger = self._reopen(True) or self.ledger


def open_session(connection: Connection) -> LedgerSession:
    """The real ledger for a connection, from the ledgers registry."""
    from ledgerlink.ledgers.charts import chart_for
    from ledgerlink.ledgers.mappings import resolve_mapping
    from ledgerlink.ledgers.registry import open_ledger
    from ledgerlink.ledgers.tokens import ensure_fresh_token

    current = {"token": ""}

    def reopen(rejected: bool) -> Ledger | None:
        fresh = ensure_fresh_token(
            connection.pk, rejected_access_token=current["token"] if rejected else None
        )
        if fresh.access_token == current["token"]:
            return None
        current["token"] = fresh.access_token
        return open_ledger(fresh)

    first = reopen(False)
    assert first is not None
    return LedgerSession(
        connection,
        first,
        resolve_mapping(connection.organisation, connection.provider),
        chart=chart_for(connection),
        reopen=reopen,
    )
