"""Signals other apps listen to, so that ledgers never imports them.

- `ledger_call_made(organisation_id, provider, method, path, status, elapsed_ms, correlation_id, calls=1)`:
  sent by `http.py` after every exchange with a ledger (status 0 when no response came back). Billing records
  it as exempt connector usage; the sync engine may write it to its audit log. Receivers' errors are logged
  and never break a sync.
- `rate_budget_reported(provider, tenant_id, budget, status, sent_at, received_at)`: sent by `http.py`
  after an exchange whose answer said something about the tenant's rate budget (`contract.RateBudget`, read
  by the provider's own parser), with the wall-clock epoch seconds the request left and its answer arrived.
  The sync engine's shared limiter paces every process by it. Receivers' errors are logged, never raised.
- `connect_requested(organisation, user, provider)`: sent by the connect view before it redirects to the
  ledger. A receiver refuses by raising `ConnectBlocked("plain sentence")`; the view shows that sentence.
- `sync_requested(organisation, connection)`: sent by the sync engine before a run sends anything. A receiver
  refuses by raising `SyncBlocked("plain sentence")` (billing: the subscription's paid period or trial is
  over); the run then holds the connection's records paused, history and mappings untouched.
- `sync_allowed_again(organisation_id)`: sent (after commit) when whatever refused `sync_requested` no longer
  does (billing: the connector was enabled again); the sync engine makes the held records due.
"""

from __future__ import annotations

from django.dispatch import Signal

ledger_call_made = Signal()
rate_budget_reported = Signal()
connect_requested = Signal()
sync_requested = Signal()
sync_allowed_again = Signal()


class ConnectBlocked(Exception):
    """Raised by a `connect_requested` receiver to refuse a connection; the message is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SyncBlocked(Exception):
    """Raised by a `sync_requested` receiver to hold an organisation's sync; the message is shown as the
    records' reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
