"""Access tokens kept fresh, one refresh at a time per connection.

`ensure_fresh_token` takes the Connection row lock in its own transaction, re-reads, and refreshes only when
the access token expires within a minute (or was just rejected), so two workers never refresh the same
token twice: ledgers rotate refresh tokens, and a second refresh with the rotated-out one can kill the
grant. The rotated refresh token is saved in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgerlink.ledgers.contract import TokenSet
from ledgerlink.ledgers.errors import Reconnect
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.ledgers.registry import oauth_for

REFRESH_MARGIN = dt.timedelta(seconds=60)  # ledger time


def refresh_margin() -> dt.timedelta:
    """REFRESH_MARGIN at the sandbox's time scale (LEDGERLINK_SYNC_TIME_SCALE, as the rate limiter reads it):
    a token lives 30 ledger minutes, so at a scale of 30 or more an unscaled minute would refresh before
    every call and the bench would measure sign-ins instead of syncing."""
    return REFRESH_MARGIN / float(getattr(settings, "LEDGERLINK_SYNC_TIME_SCALE", 1.0))


def _needs_refresh(connection: Connection, rejected_access_token: str | None, now: dt.datetime) -> bool:
    if rejected_access_token and connection.access_token == rejected_access_token:
        return True
    return connection.access_expires_at is None or connection.access_expires_at - now <= refresh_margin()


def _store(connection: Connection, tokens: TokenSet, now: dt.datetime) -> None:
    connection.access_token = tokens.access_token
    connection.refresh_token = tokens.refresh_token
    connection.access_expires_at = tokens.expires_at
    connection.refresh_token_issued_at = now
    if tokens.scope:
        connection.scopes = tokens.scope
    connection.last_error = ""
    connection.save(
        update_fields=[
            "access_token",
            "refresh_token",
            "access_expires_at",
            "refresh_token_issued_at",
            "scopes",
            "last_error",
        ]
    )


def ensure_fresh_token(
    connection_id: int, *, rejected_access_token: str | None = None, force: bool = False
) -> Connection:
    """The connection with an access token valid for at least a minute.

    Pass `rejected_access_token` after the ledger refused a token as expired (refreshes only if nobody did
    since); `force=True` refreshes anyway (the keep-alive job, before the ledger's idle expiry of refresh
    tokens). Call it outside any transaction, so its own commits (the rotated token, or needs_reconnect)
    stand whatever the caller does next. Raises `Reconnect` (after committing needs_reconnect) when the
    grant is gone; `Retry` when the ledger's sign-in service failed."""
    now = timezone.now()
    current = Connection.objects.get(pk=connection_id)
    fresh = not force and not _needs_refresh(current, rejected_access_token, now)
    if current.status == ConnectionStatus.ACTIVE and fresh:
        return current  # the common case: no lock, no call
    failure: Reconnect | None = None
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection_id)
        if connection.status != ConnectionStatus.ACTIVE:
            name = connection.get_provider_display()
            state = (
                "is disconnected"
                if connection.status == ConnectionStatus.DISCONNECTED
                else "needs reconnecting"
            )
            raise Reconnect(f"{name} {state}.", code=connection.status)
        if not force and not _needs_refresh(connection, rejected_access_token, now):
            return connection
        try:
            tokens = oauth_for(connection.provider, connection.organisation_id).refresh(
                connection.refresh_token
            )
        except Reconnect as exc:
            connection.status = ConnectionStatus.NEEDS_RECONNECT
            connection.last_error = exc.message
            connection.save(update_fields=["status", "last_error"])
            failure = exc
        else:
            _store(connection, tokens, now)
    if failure is not None:
        raise failure
    return connection
