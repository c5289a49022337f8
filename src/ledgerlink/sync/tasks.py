"""Huey tasks: the doorbell for one connection, and the schedules (UTC crontab; each idempotent and
catching up, see sweeper.py). The same tasks run on SqliteHuey (embedded) and RedisHuey (distributed)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_task()
def sync_connection_task(connection_id: object) -> None:
    """The doorbell: sync whatever is due on this connection."""
    from ledgerlink.ledgers.models import Connection
    from ledgerlink.sync.worker import sync_connection

    try:
        sync_connection(connection_id)
    except Connection.DoesNotExist:
        log.info("connection %s is gone; nothing to sync", connection_id)


def enqueue_sync(connection_id: object, delay_s: float | None = None) -> None:
    """The doorbell's queue (installed in doorbell.py by SyncConfig.ready)."""
    if delay_s:
        sync_connection_task.schedule((connection_id,), delay=delay_s)
    else:
        sync_connection_task(connection_id)


@db_periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    from ledgerlink.sync.sweeper import sweep

    sweep()


@db_periodic_task(crontab(minute="17"))
def keep_alive_task() -> None:
    """Hourly; acts only on tokens at risk, so a missed hour is caught up by the next."""
    from ledgerlink.sync.sweeper import keep_tokens_alive

    keep_tokens_alive()


@db_periodic_task(crontab(minute="43"))
def chart_refresh_task() -> None:
    """Hourly; reloads only charts older than a day: the daily refresh, catching up after downtime."""
    from ledgerlink.sync.sweeper import refresh_stale_charts

    refresh_stale_charts()


@db_periodic_task(crontab(minute="29"))
def attempt_retention_task() -> None:
    """Hourly; deletes only what is past retention, so it catches up by itself."""
    from ledgerlink.sync.sweeper import purge_old_attempts

    purge_old_attempts()
