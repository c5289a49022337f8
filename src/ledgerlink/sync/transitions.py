"""The state machine's moves. Each function changes records in one statement or transaction and keeps the
record's fields consistent: a synced record has its remote id and its RemoteLink; a record waiting for the
user holds a plain sentence saying why (docs/sync.md, "States")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Case, F, PositiveIntegerField, When
from django.utils import timezone

from ledgerlink.cashflow.money import from_minor, to_minor
from ledgerlink.ledgers.contract import RemoteRef
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync.models import RemoteLink, SyncRecord, SyncState
from ledgerlink.sync.ordering import SETTLED_STATES
from ledgerlink.sync.policy import MAX_TRANSIENT_ATTEMPTS, backoff_delay
from ledgerlink.sync.ratelimit import time_scale
from ledgerlink.sync.rows import write_each

_LEASE_CLEARED = {"lease_owner": "", "lease_expires_at": None}
_ACTIVE_STATES = (SyncState.PENDING, SyncState.RETRYING, SyncState.IN_FLIGHT)


def mark_synced(record: SyncRecord, remote: RemoteRef, provider_name: str = "the ledger") -> None:
    """Store the remote id (and link), compare totals to the cent, and wake records waiting on this one."""
    mark_all_synced([(record, remote)], provider_name)


# What `_settle` sets on a synced record, all written by one prepared statement run per record
# (`rows.write_each`; the fields the same for every record once had an UPDATE of their own: a statement more
# per request).
_SETTLED_FIELDS = (
    "remote_id",
    "remote_number",
    "ledger_total_minor",
    "cashflow_total_minor",
    "total_mismatch",
    "last_error",
    "error_kind",
    "state",
    "synced_at",
    "unknown_outcome_since",
    "error_is_configuration",
    "waiting_on",
    "updated_at",
    "lease_owner",
    "lease_expires_at",
)


def mark_all_synced(
    outcomes: Sequence[tuple[SyncRecord, RemoteRef]], provider_name: str = "the ledger"
) -> None:
    """`mark_synced` for a whole request's records at once: one transaction of a few statements (the records,
    their links, the wake-up of what waited on them) instead of several per record."""
    if not outcomes:
        return
    now = timezone.now()
    records = [record for record, _ in outcomes]
    for record, remote in outcomes:
        _settle(record, remote, provider_name, now)
    # One link per subject (the last outcome wins): an upsert may not touch a row twice in one statement.
    links = {
        (record.connection_id, record.subject_type, record.subject_id): (remote.id, remote.number)
        for record, remote in outcomes
    }
    with transaction.atomic():
        write_each(SyncRecord, records, _SETTLED_FIELDS)
        _upsert_links(links, now)
        waited_on = [record.pk for record in records]
        SyncRecord.objects.filter(waiting_on_id__in=waited_on, state=SyncState.PENDING).update(
            waiting_on=None, next_attempt_at=now
        )


def _upsert_links(links: dict[tuple[int, str, str], tuple[str, str]], now: dt.datetime) -> None:
    """Each (connection, subject type, subject id) -> (remote id, number) link inserted or updated, by one
    prepared statement run per link (SQLite and PostgreSQL spell the upsert alike). Django's bulk_create with
    update_conflicts built a model instance per link and the statement anew per request: a tenth of the
    engine's CPU per invoice."""
    meta, quote = RemoteLink._meta, connection.ops.quote_name
    names = ["connection_id", "subject_type", "subject_id", "remote_id", "remote_number", "created_at"]
    columns = ", ".join(quote(name) for name in names)
    key = ", ".join(quote(name) for name in names[:3])
    update = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in names[3:5])
    # Only the model's own table and column names, quoted, are formatted in; every value is a parameter.
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {update}"
    )
    created = meta.get_field("created_at").get_db_prep_value(now, connection)
    rows = [[*key_parts, remote_id, number, created] for key_parts, (remote_id, number) in links.items()]
    with connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def _settle(record: SyncRecord, remote: RemoteRef, provider_name: str, now: dt.datetime) -> None:
    """A synced record's fields, in memory: remote id, totals compared to the cent, lease and wait cleared."""
    record.remote_id, record.remote_number = remote.id, remote.number or record.remote_number
    if remote.total is not None:  # else keep what an earlier step reported (a credit note before allocation)
        record.ledger_total_minor = to_minor(remote.total)
    ledger_total, cashflow_total = record.ledger_total_minor, record.cashflow_total_minor
    record.total_mismatch, record.last_error = False, ""
    if ledger_total is not None and cashflow_total is not None and ledger_total != cashflow_total:
        record.total_mismatch = True
        record.last_error = (
            f"{provider_name} shows {from_minor(ledger_total)} but CashFlow has "
            f"{from_minor(cashflow_total)}: check this {record.subject_type} in both."
        )
    record.state, record.synced_at, record.unknown_outcome_since = SyncState.SYNCED, now, None
    record.error_kind = "total_mismatch" if record.total_mismatch else ""
    record.error_is_configuration = False
    record.lease_owner, record.lease_expires_at, record.waiting_on = "", None, None
    record.updated_at = now


def mark_attention(
    record: SyncRecord, error: LedgerError | str, *, configuration: bool | None = None
) -> None:
    """The user must act. A configuration problem waits for a mapping change; data waits for a retry."""
    message = error if isinstance(error, str) else error.message
    is_configuration = (
        bool(getattr(error, "configuration", False)) if configuration is None else configuration
    )
    record.state, record.last_error = SyncState.NEEDS_ATTENTION, message
    record.error_kind = "configuration" if is_configuration else (getattr(error, "kind", "") or "data")
    record.error_is_configuration = is_configuration
    # `unknown_outcome_since` stays: a record that may be in the ledger stays "in doubt" until the ledger
    # answers for it, so the next attempt looks it up before writing again.
    record.lease_owner, record.lease_expires_at = "", None
    record.save()


def mark_retry(
    record: SyncRecord,
    error: LedgerError,
    *,
    retry_after_s: float | None = None,
    in_doubt: bool = False,
    fresh_key: bool = True,
) -> None:
    """A transient failure: try again after a backoff with full jitter (never before Retry-After).

    `in_doubt` keeps the record marked as possibly written (the next attempt replays or looks it up);
    `fresh_key` moves to a new key generation, since a ledger replays a cached error for an old key."""
    if record.attempts >= MAX_TRANSIENT_ATTEMPTS and not in_doubt:
        mark_attention(
            record, f"Gave up after {record.attempts} attempts; the last answer was: {error.message}"
        )
        return
    delay = backoff_delay(record.attempts, retry_after_s, time_scale=time_scale())
    record.state, record.last_error, record.error_kind = SyncState.RETRYING, error.message, error.kind
    record.error_is_configuration = False
    record.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
    if not in_doubt:
        record.unknown_outcome_since = None
    if fresh_key and not in_doubt:
        record.generation += 1
    record.lease_owner, record.lease_expires_at = "", None
    record.save()


def mark_skipped(record: SyncRecord, reason: str) -> None:
    """The object will never go to the ledger; what waited on it goes on without it."""
    record.state, record.last_error, record.error_kind = SyncState.SKIPPED, reason, "skipped"
    record.lease_owner, record.lease_expires_at = "", None
    with transaction.atomic():
        record.save()
        SyncRecord.objects.filter(waiting_on=record, state=SyncState.PENDING).update(
            waiting_on=None, next_attempt_at=timezone.now()
        )


def defer(record: SyncRecord, waiting_on: SyncRecord, reason: str) -> None:
    """Wait for another record (an invoice for its customer). It wakes when that one syncs; the long
    fallback delay only matters if that wake-up is lost."""
    defer_all([(record, waiting_on, reason)])


# What `defer` changes on a record, written for many records by one prepared statement.
_DEFER_FIELDS = ("state", "waiting_on", "last_error", "next_attempt_at", "lease_owner", "lease_expires_at")


def defer_all(
    waits: Sequence[tuple[SyncRecord, SyncRecord, str]], released_by: Sequence[str] = SETTLED_STATES
) -> None:
    """`defer` for many records at once (a claim's payments whose invoices are still held over): one
    prepared UPDATE run per record (`rows.write_each`) instead of a model save each. A record whose
    blocker reached one of `released_by` meanwhile goes again at once (`_wake_released`)."""
    if not waits:
        return
    now = timezone.now()
    for record, waiting_on, reason in waits:
        record.state, record.waiting_on, record.last_error = SyncState.PENDING, waiting_on, reason
        record.next_attempt_at = now + dt.timedelta(hours=1)
        record.lease_owner, record.lease_expires_at = "", None
        record.updated_at = now
    with transaction.atomic():
        write_each(SyncRecord, [record for record, _, _ in waits], (*_DEFER_FIELDS, "updated_at"))
    _wake_released(waits, released_by)


def _wake_released(waits: Sequence[tuple[SyncRecord, SyncRecord, str]], released_by: Sequence[str]) -> None:
    """Close the lost wake-up: a blocker settling on another consumer wakes its waiters in the same
    transaction (`mark_all_synced`), but under READ COMMITTED that UPDATE may run before our deferral is
    committed and the commit land after we look. So each blocker is read under a row lock, skipping rows
    locked now: a blocker read unlocked has no settle in progress, and any later settle's wake-up sees our
    deferral; a locked one may be mid-settle, so its waiters go again (at worst they park once more)."""
    blocker_ids = {blocker.pk for _, blocker, _ in waits}
    with transaction.atomic():
        unlocked = dict(
            SyncRecord.objects.select_for_update(skip_locked=True)
            .filter(pk__in=blocker_ids)
            .values_list("pk", "state")
        )
    released = {pk for pk in blocker_ids if pk not in unlocked or unlocked[pk] in released_by}
    woken = [record.pk for record, blocker, _ in waits if blocker.pk in released]
    if woken:
        SyncRecord.objects.filter(pk__in=woken, state=SyncState.PENDING).update(
            waiting_on=None, next_attempt_at=timezone.now()
        )


def pause_connection(connection: Connection, message: str) -> int:
    """The grant is gone: the connection needs the user to sign in again; its open records wait paused."""
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk, status=ConnectionStatus.ACTIVE).update(
            status=ConnectionStatus.NEEDS_RECONNECT, last_error=message
        )
        return SyncRecord.objects.filter(connection=connection, state__in=_ACTIVE_STATES).update(
            state=SyncState.PAUSED, last_error=message, error_kind="reconnect", **_LEASE_CLEARED
        )


#: The error kind of records held because the organisation may not sync (its subscription ended).
HELD_KIND = "not_allowed"


def hold_connection(connection: Connection, message: str) -> int:
    """The organisation may not sync now: its open records wait paused under `HELD_KIND`, the connection
    itself is left as it is (nothing to reconnect; enabling again resumes them)."""
    return SyncRecord.objects.filter(connection=connection, state__in=_ACTIVE_STATES).update(
        state=SyncState.PAUSED, last_error=message, error_kind=HELD_KIND, **_LEASE_CLEARED
    )


def release_held(organisation_id: uuid.UUID | str) -> set[int]:
    """Records held by `hold_connection` are due again; returns the connections that have some."""
    held = SyncRecord.objects.filter(
        organisation_id=organisation_id, state=SyncState.PAUSED, error_kind=HELD_KIND
    )
    connection_ids = set(held.values_list("connection_id", flat=True))
    held.update(state=SyncState.PENDING, next_attempt_at=timezone.now(), last_error="", error_kind="")
    return connection_ids


def resume_connection(connection_id: int) -> int:
    """After a reconnect: paused records are due again."""
    return SyncRecord.objects.filter(connection_id=connection_id, state=SyncState.PAUSED).update(
        state=SyncState.PENDING, next_attempt_at=timezone.now(), last_error="", error_kind=""
    )


def requeue(records: Iterable[SyncRecord] | None = None, **filters: object) -> int:
    """Make records due now, clearing their error (a user's retry, a mapping change). A new key generation:
    the ledger would answer the old key with its cached error (ledgers cache the answer per key)."""
    query = (
        SyncRecord.objects.filter(**filters)
        if records is None
        else SyncRecord.objects.filter(pk__in=[r.pk for r in records])
    )
    return query.update(
        state=SyncState.PENDING,
        next_attempt_at=timezone.now(),
        attempts=0,
        # A new key, except for records in doubt: their old key may still replay what already landed.
        generation=Case(
            When(unknown_outcome_since__isnull=True, then=F("generation") + 1),
            default=F("generation"),
            output_field=PositiveIntegerField(),
        ),
        last_error="",
        error_kind="",
        error_is_configuration=False,
        **_LEASE_CLEARED,
    )
