"""Huey tasks: the doorbell for one connection, and the schedules (UTC crontab; each idempotent and
catching up, see sweeper.py). The same tasks run on SqliteHuey (embedded) and RedisHuey (distributed)."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable
from typing import ParamSpec, Protocol

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

log = logging.getLogger(__name__)

_P = ParamSpec("_P")


class HueyTask(Protocol[_P]):
    """What this project uses of a function huey made a task (huey ships no type hints)."""

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> object: ...  # enqueues: huey's Result

    def schedule(self, args: tuple[object, ...] | None = None, *, delay: float | None = None) -> object: ...

    def call_local(self, *args: _P.args, **kwargs: _P.kwargs) -> None: ...  # runs it here and now


def _db_task() -> Callable[[Callable[_P, None]], HueyTask[_P]]:
    """huey's `db_task()`, typed."""
    decorator: Callable[[Callable[_P, None]], HueyTask[_P]] = db_task()
    return decorator


def _db_periodic_task(
    validate_datetime: Callable[[dt.datetime], bool],
) -> Callable[[Callable[[], None]], HueyTask[[]]]:
    """huey's `db_periodic_task(crontab(...))`, typed."""
    decorator: Callable[[Callable[[], None]], HueyTask[[]]] = db_periodic_task(validate_datetime)
    return decorator


def freeze_startup_objects() -> None:
    """Everything alive once a consumer has started (Django, the apps, their modules) lives as long as the
    process: moved out of the collector's sight, so the full collections a long sync's allocations trigger
    scan only what the sync made (they were about a seventh of a backfill's CPU)."""
    gc.freeze()


HUEY.on_startup()(freeze_startup_objects)  # each worker, once started


@_db_task()
def sync_connection_task(connection_id: int) -> None:
    """The doorbell: sync whatever is due on this connection."""
    from ledgerlink.ledgers.models import Connection
    from ledgerlink.sync.worker import sync_connection

    try:
        sync_connection(connection_id)
    except Connection.DoesNotExist:
        log.info("connection %s is gone; nothing to sync", connection_id)


def enqueue_sync(connection_id: int, delay_s: float | None = None) -> None:
    """The doorbell's queue (installed in doorbell.py by SyncConfig.ready)."""
    if delay_s:
        sync_connection_task.schedule((connection_id,), delay=delay_s)
    else:
        sync_connection_task(connection_id)


@_db_periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    from ledgerlink.sync.sweeper import sweep

    sweep()


@_db_periodic_task(crontab(minute="17"))
def keep_alive_task() -> None:
    """Hourly; acts only on tokens at risk, so a missed hour is caught up by the next."""
    from ledgerlink.sync.sweeper import keep_tokens_alive

    keep_tokens_alive()


@_db_periodic_task(crontab(minute="43"))
def chart_refresh_task() -> None:
    """Hourly; reloads only charts older than a day: the daily refresh, catching up after downtime."""
    from ledgerlink.sync.sweeper import refresh_stale_charts

    refresh_stale_charts()


@_db_periodic_task(crontab(minute="29"))
def attempt_retention_task() -> None:
    """Hourly; deletes only what is past retention, so it catches up by itself."""
    from ledgerlink.sync.sweeper import purge_old_attempts

    purge_old_attempts()
