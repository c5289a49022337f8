"""The sweeper and the other schedules. Each one is "act on whatever is due", never "do the thing of this
slot": huey's crontab is UTC and skips runs missed while no scheduler was up, so a schedule that only
did its own slot's work would lose it. Running any of them twice, or late, is harmless."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync import doorbell, outbox
from ledgerlink.sync.models import DUE_STATES, Attempt, HistoricalPush, SyncRecord, SyncState

log = logging.getLogger(__name__)

CHART_MAX_AGE = dt.timedelta(days=1)
# The audit log answers "what happened to this invoice" questions; a quarter covers an accountant's close.
ATTEMPT_RETENTION = dt.timedelta(days=90)
# Refresh a sign-in left idle this long: well inside every ledger's idle life of a refresh token (the
# shortest is 60 days).
KEEP_ALIVE_AFTER = dt.timedelta(days=45)


@dataclass(frozen=True)
class SweepReport:
    events_planned: int
    connections_rung: int
    leases_expired: int
    waiters_woken: int


def sweep(now: dt.datetime | None = None) -> SweepReport:
    """Plan missed events, free lapsed leases, wake records whose wake-up was lost, and ring every active
    connection that has due records."""
    now = now or timezone.now()
    planned = outbox.materialise_missed_events(now)
    expired = SyncRecord.objects.filter(state=SyncState.IN_FLIGHT, lease_expires_at__lt=now).update(
        state=SyncState.PENDING, lease_owner="", lease_expires_at=None
    )
    # Settling a record wakes its waiters at once and parking one re-checks its blocker (`transitions`);
    # should a wake-up be missed all the same, the record waits a minute here, not the deferral's hour.
    woken = SyncRecord.objects.filter(state=SyncState.PENDING, waiting_on__state=SyncState.SYNCED).update(
        waiting_on=None, next_attempt_at=now
    )
    due = SyncRecord.objects.filter(
        state__in=DUE_STATES, next_attempt_at__lte=now, connection__status=ConnectionStatus.ACTIVE
    ).exclude(state=SyncState.IN_FLIGHT)
    connection_ids = sorted(set(due.values_list("connection_id", flat=True)))
    for connection_id in connection_ids:
        doorbell.ring(connection_id)
    for push in HistoricalPush.objects.filter(state=HistoricalPush.State.RUNNING):
        from ledgerlink.sync.history import refresh_progress

        refresh_progress(push)
    return SweepReport(planned, len(connection_ids), expired, woken)


def connections_needing_keep_alive(now: dt.datetime | None = None) -> list[int]:
    """Active connections whose refresh token was issued long enough ago to be at risk of idle expiry."""
    cutoff = (now or timezone.now()) - KEEP_ALIVE_AFTER
    query = Connection.objects.filter(status=ConnectionStatus.ACTIVE, refresh_token_issued_at__lt=cutoff)
    return list(query.values_list("pk", flat=True))


def keep_tokens_alive(now: dt.datetime | None = None) -> int:
    """Refresh every token at risk, one at a time per connection (ledgers.tokens holds the row lock)."""
    from ledgerlink.ledgers.errors import LedgerError
    from ledgerlink.ledgers.tokens import ensure_fresh_token

    refreshed = 0
    for connection_id in connections_needing_keep_alive(now):
        try:
            ensure_fresh_token(connection_id, force=True)
            refreshed += 1
        except LedgerError as error:  # Reconnect marks the connection itself; Retry waits for the next run
            log.warning("keep-alive of connection %s failed: %s", connection_id, error.kind)
    return refreshed


def refresh_stale_charts(now: dt.datetime | None = None) -> int:
    """Reload the chart of every active connection whose cached chart is older than a day. A ledger that
    refuses the reload because the grant is gone (revoked or disconnected from its side) pauses the
    connection as a refused sync would: an idle organisation learns of it within a day, not at its next
    invoice (notices alert on needs_reconnect)."""
    from ledgerlink.ledgers.charts import refresh_chart
    from ledgerlink.ledgers.errors import LedgerError, Reconnect
    from ledgerlink.sync.transitions import pause_connection

    cutoff = (now or timezone.now()) - CHART_MAX_AGE
    stale = Connection.objects.filter(status=ConnectionStatus.ACTIVE).exclude(chart__loaded_at__gte=cutoff)
    refreshed = 0
    for connection in stale:
        try:
            refresh_chart(connection)
            refreshed += 1
        except Reconnect as error:
            pause_connection(connection, error.message)
            log.warning("chart refresh of connection %s: the ledger wants a reconnect", connection.pk)
        except LedgerError as error:
            log.warning("chart refresh of connection %s failed: %s", connection.pk, error.kind)
    return refreshed


def purge_old_attempts(now: dt.datetime | None = None) -> int:
    """Drop audit-log rows older than ATTEMPT_RETENTION (records keep their own state and last error)."""
    cutoff = (now or timezone.now()) - ATTEMPT_RETENTION
    _, per_model = Attempt.objects.filter(started_at__lt=cutoff).delete()
    return per_model.get(Attempt._meta.label, 0)
