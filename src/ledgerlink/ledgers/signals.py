"""Signals other apps listen to, so that ledgers never imports them.

- `ledger_call_made(organisation_id, provider, method, path, status, elapsed_ms, correlation_id, calls=1)`:
  sent by `http.py` after every exchange with a ledger (status 0 when no response came back). Billing records
  it as exempt connector usage; the sync engine may write it to its audit log. Receivers' errors are logged
  and never break a sync.
- `connect_requested(organisation, user, provider)`: sent by the connect view before it redirects to the
  ledger. A receiver refuses by raising `ConnectBlocked("plain sentence")`; the view shows that sentence.
"""

from __future__ import annotations

from django.dispatch import Signal

ledger_call_made = Signal()
connect_requested = Signal()


class ConnectBlocked(Exception):
    """Raised by a `connect_requested` receiver to refuse a connection; the message is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
