"""The doorbell: ask a worker to sync one connection now (or after a delay). Best effort: the records are
the truth, and the sweeper rings every connection with due records each minute, so a lost ring costs time,
never work.

The queue behind it is the huey task in tasks.py, installed here by `SyncConfig.ready`: the modules that
ring (outbox, history, retry, the worker, the sweeper) then never import the task module, which imports the
worker and the sweeper, and sync/ has no import cycle."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)

Enqueue = Callable[[int, float | None], None]
_enqueue: Enqueue | None = None


def install(enqueue: Enqueue) -> None:
    """Say how a ring reaches a worker (tasks.py's huey task)."""
    global _enqueue
    _enqueue = enqueue


def ring(connection_id: int, delay_s: float | None = None) -> None:
    """Ask a worker to sync this connection. When the queue is unreachable, the sweeper rings instead."""
    if _enqueue is None:
        log.warning("no doorbell installed; connection %s waits for the sweeper", connection_id)
        return
    try:
        _enqueue(connection_id, delay_s)
    except Exception:  # the queue is down; the records are safe and the sweeper will ring again
        log.warning("could not enqueue a sync for connection %s; the sweeper will retry", connection_id)


def ring_after_commit(connection_id: int) -> None:
    """Ring once the current transaction commits, so the worker finds what it wrote."""
    transaction.on_commit(lambda: ring(connection_id))
