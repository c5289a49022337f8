"""Claiming due records under a lease that lapses, so a killed worker's claim passes to another worker.

A claim is one conditional UPDATE: it only takes rows whose lease is free or expired, so two workers can
never both hold a record, on SQLite (writers are serialised) or PostgreSQL (UPDATE re-checks its WHERE after
waiting on a row lock; `SKIP LOCKED` keeps workers from queueing behind each other)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from ledgerlink.sync.models import DUE_STATES, SyncRecord, SyncState


def lease_length() -> dt.timedelta:
    """Longer than any one call (timeouts included), so a live worker's lease never lapses mid-request; short
    enough that a killed worker's records move on soon (settings.LEDGERLINK_SYNC_LEASE_S)."""
    return dt.timedelta(seconds=getattr(settings, "LEDGERLINK_SYNC_LEASE_S", 120.0))


def new_owner() -> str:
    """A lease owner name: host, process and a random part (several workers share a process)."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_free(now: dt.datetime) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)


def due_records(connection_id: int, now: dt.datetime) -> QuerySet[SyncRecord]:
    """Records of a connection a worker may take now."""
    return SyncRecord.objects.filter(
        _lease_free(now), connection_id=connection_id, state__in=DUE_STATES, next_attempt_at__lte=now
    )


def claim(connection_id: int, owner: str, limit: int, now: dt.datetime | None = None) -> list[SyncRecord]:
    """Lease up to `limit` due records of one connection to `owner`, oldest first, and return them."""
    now = now or timezone.now()
    lock = db.features.has_select_for_update_skip_locked
    # SQLite: a claim's transaction takes the one write lock as it begins (IMMEDIATE), so the candidates are
    # read before it; a run's last claim, which finds nothing, then locks nothing. The UPDATE re-checks
    # every row, so a record another worker took meanwhile is simply not ours.
    ids = [] if lock else _oldest_due(connection_id, now, limit, lock=False)
    if not lock and not ids:
        return []
    with transaction.atomic():
        if lock:
            ids = _oldest_due(connection_id, now, limit, lock=True)
        if not ids:
            return []
        # The exact expiry marks this claim's rows apart from any the owner still holds from before.
        expires = now + lease_length()
        lease = {"state": SyncState.IN_FLIGHT, "lease_owner": owner, "lease_expires_at": expires}
        # Still free and due: on SQLite the candidates were read before this transaction.
        taken = SyncRecord.objects.filter(_lease_free(now), id__in=ids, state__in=DUE_STATES)
        taken.filter(next_attempt_at__lte=now).update(**lease)
        # Records whose last request's outcome is unknown travel with all the companions of that request, due
        # or not, so a replay rebuilds the very request its idempotency key was first used for.
        keys = set(
            SyncRecord.objects.filter(id__in=ids, lease_owner=owner, unknown_outcome_since__isnull=False)
            .exclude(idempotency_key="")
            .values_list("idempotency_key", flat=True)
        )
        if keys:
            SyncRecord.objects.filter(
                _lease_free(now),
                connection_id=connection_id,
                idempotency_key__in=keys,
                unknown_outcome_since__isnull=False,
                state__in=DUE_STATES,
            ).update(**lease)
    held = SyncRecord.objects.filter(
        connection_id=connection_id, lease_owner=owner, state=SyncState.IN_FLIGHT, lease_expires_at=expires
    )
    return list(held.order_by("sequence", "id"))


def _oldest_due(connection_id: int, now: dt.datetime, limit: int, *, lock: bool) -> list[int]:
    """The ids of the `limit` oldest due records, by (sequence, id). One query per due state, each walking
    the `sync_record_claim` index in that order and stopping at `limit`: a single query over all due states
    sorted every due record of the connection for each claim, so a 100,000 invoice backfill's claims cost
    in proportion to what was left of it (a quarter of its CPU). What a walk passes over is only what is
    in a due state but not due now: records held by a live lease or parked behind another. `lock` takes
    the rows with SKIP LOCKED, inside the claim's transaction (PostgreSQL)."""
    oldest: list[tuple[int, int]] = []
    for state in DUE_STATES:
        # "Not after now" rather than "now or before": the same rows (the column is never null), but SQLite
        # cannot range-scan `sync_record_due` on a NOT, so it walks this index in order instead of sorting.
        candidates = (
            SyncRecord.objects.filter(_lease_free(now), connection_id=connection_id, state=state)
            .exclude(next_attempt_at__gt=now)
            .order_by("sequence", "id")
        )
        if lock:
            candidates = candidates.select_for_update(skip_locked=True)
        oldest += candidates.values_list("sequence", "id")[:limit]
    return [pk for _, pk in sorted(oldest)[:limit]]


def renew(record_ids: list[int], owner: str, now: dt.datetime | None = None, **changes: object) -> bool:
    """Extend `owner`'s lease on every record in `record_ids`, and set `changes` on them in the same
    statement (the write-ahead mark rides with the renewal: one statement per request, not two). False, and
    nothing changed, when the lease on any was lost (do not send then)."""
    now = now or timezone.now()
    wanted = len(set(record_ids))
    with transaction.atomic():
        renewed = SyncRecord.objects.filter(
            id__in=record_ids, lease_owner=owner, state=SyncState.IN_FLIGHT, lease_expires_at__gt=now
        ).update(lease_expires_at=now + lease_length(), **changes)
        if renewed != wanted:
            transaction.set_rollback(True)
    return renewed == wanted


def release_unfinished(
    owner: str,
    connection_id: int,
    delay: dt.timedelta = dt.timedelta(0),
    keep: list[int] | None = None,
) -> int:
    """Hand back whatever `owner` still holds (unprocessed when a run stops early), due after `delay`; the
    records in `keep` stay held."""
    # Back to retrying when it had been tried before, so the user sees why it waits.
    state = Case(When(attempts__gt=0, then=Value(SyncState.RETRYING)), default=Value(SyncState.PENDING))
    held = SyncRecord.objects.filter(
        connection_id=connection_id, lease_owner=owner, state=SyncState.IN_FLIGHT
    )
    if keep:
        held = held.exclude(id__in=keep)
    due_at = timezone.now() + delay
    return held.update(state=state, lease_owner="", lease_expires_at=None, next_attempt_at=due_at)
