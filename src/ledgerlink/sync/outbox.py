"""CashFlow events -> sync records, in the event's own transaction; then the doorbell after commit.

cashflow never imports sync: `SyncConfig.ready()` registers `on_domain_event` with cashflow's events module.
A lost doorbell costs nothing but time: the sweeper re-rings every connection with due records and
re-plans any event whose records are missing."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection as db
from django.utils import timezone

from ledgerlink.cashflow.models import DomainEvent, EventKind, Invoice
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync import doorbell
from ledgerlink.sync.documents import SUBJECT_TYPES
from ledgerlink.sync.models import HistoricalPush, RemoteLink, SweepMark, SyncRecord, SyncState

log = logging.getLogger(__name__)

# On PostgreSQL event ids may commit out of order (cashflow DomainEvent docstring): the sweeper only moves its
# mark past events older than this, and re-plans everything newer on every pass (planning is idempotent).
EVENT_GRACE = dt.timedelta(minutes=10)
REVERSAL_EVENTS = (EventKind.PAYMENT_REFUNDED, EventKind.PAYMENT_CHARGED_BACK, EventKind.PAYMENT_UNDONE)


@dataclass(frozen=True)
class Planned:
    """One record to create: what to carry, the invoice it belongs to, and its place in CashFlow's order
    (the id of the event that made it)."""

    kind: ObjectKind
    subject_id: str
    chain: str = ""  # the invoice's id; "" for a customer
    sequence: int = 0

    @property
    def subject_type(self) -> str:
        return SUBJECT_TYPES[self.kind]


def event_chain(event: DomainEvent) -> str:
    """The invoice an event touches: its subject for invoice events, the payload's invoice otherwise."""
    if event.subject_type == "invoice":
        return str(event.subject_id)
    return str(event.payload.get("invoice_id", ""))


def plan_event(event: DomainEvent, customer_of: Mapping[str, str] | None = None) -> list[Planned]:
    """The records an event asks for, in send order. `customer_of` (invoice id -> customer id) saves the
    look-up when many events are planned at once."""
    kind, chain = event.kind, event_chain(event)
    step = partial(Planned, chain=chain, sequence=event.id)
    if kind == EventKind.INVOICE_ISSUED:
        customer_id = (customer_of or {}).get(event.subject_id) or str(
            Invoice.objects.values_list("customer_id", flat=True).get(pk=event.subject_id)
        )
        return [Planned(ObjectKind.CUSTOMER, customer_id, sequence=event.id), step(ObjectKind.INVOICE, chain)]
    if kind == EventKind.PAYMENT_RECEIVED:
        return [step(ObjectKind.PAYMENT, event.subject_id)]
    planned: list[Planned] = []
    if kind in REVERSAL_EVENTS:
        planned.append(step(ObjectKind.PAYMENT_REVERSAL, event.subject_id))
    # A cancellation, or money reversed on an already cancelled invoice, comes with a credit note to carry.
    credit_note_id = event.payload.get("credit_note_id")
    if credit_note_id:
        planned.append(step(ObjectKind.CANCELLATION, str(credit_note_id)))
    return planned


def live_connections(organisation_id: uuid.UUID) -> list[Connection]:
    """Connections that should receive an organisation's new objects: active ones, and those waiting for a
    reconnect (their records wait paused, so nothing is lost while the user signs in again)."""
    return list(
        Connection.objects.filter(
            organisation_id=organisation_id,
            status__in=(ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_RECONNECT),
        )
    )


def queue_records(
    connection: Connection,
    planned: Iterable[Planned],
    *,
    event_id: str = "",
    history_push: HistoricalPush | None = None,
) -> int:
    """Create the planned records for one connection unless they exist (the unique constraint makes this
    idempotent). A customer already linked in the ledger gets no record. Returns how many were new."""
    planned = list(planned)
    linked_customers = set(
        RemoteLink.objects.filter(
            connection=connection,
            subject_type=SUBJECT_TYPES[ObjectKind.CUSTOMER],
            subject_id__in=[p.subject_id for p in planned if p.kind == ObjectKind.CUSTOMER],
        ).values_list("subject_id", flat=True)
    )
    state = SyncState.PAUSED if connection.status == ConnectionStatus.NEEDS_RECONNECT else SyncState.PENDING
    now = timezone.now()
    template = SyncRecord(
        organisation_id=connection.organisation_id,
        connection=connection,
        event_id=event_id,
        history_push=history_push,
        state=state,
        next_attempt_at=now,
        created_at=now,
    )
    rows = [p for p in planned if not (p.kind == ObjectKind.CUSTOMER and p.subject_id in linked_customers)]
    return _insert_new(template, rows)


def _insert_new(template: SyncRecord, planned: list[Planned]) -> int:
    """Insert a record per planned one unless it exists (the unique constraint), by one prepared statement
    run per record: the shared columns are prepared once from `template`. Django's bulk_create prepared
    every column of every record anew, most of a historical push's CPU (a tenth of a second per thousand
    records). Returns how many were inserted: both drivers (sqlite3, psycopg 3) sum the rows each run
    changed, and a row the constraint turned away changed none. Counting the records before and after
    instead cost two reads per event and a tenth of a push."""
    fields = [field for field in SyncRecord._meta.concrete_fields if not field.primary_key]
    shared = {
        field.attname: field.get_db_prep_save(field.pre_save(template, add=True), db) for field in fields
    }
    names = [field.attname for field in fields]
    quote = db.ops.quote_name
    # Only the model's own table and column names, quoted, are formatted in; every value is a parameter.
    statement = (
        f"INSERT INTO {quote(SyncRecord._meta.db_table)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))}) ON CONFLICT DO NOTHING"
    )
    rows: list[list[Any]] = []
    for plan in planned:
        own: dict[str, Any] = {
            "kind": str(plan.kind),
            "subject_type": plan.subject_type,
            "subject_id": plan.subject_id,
            "sequence": plan.sequence,
            "chain": plan.chain,
        }
        rows.append([own.get(name, shared[name]) for name in names])
    with db.cursor() as cursor:
        cursor.executemany(statement, rows)
        return int(cursor.rowcount)


def on_domain_event(event: DomainEvent) -> None:
    """cashflow's handler: runs inside the event's transaction, so records exist iff the change committed."""
    planned = plan_event(event)
    if not planned:
        return
    for connection in live_connections(event.organisation_id):
        queue_records(connection, planned, event_id=str(event.id))
        if connection.status == ConnectionStatus.ACTIVE:
            doorbell.ring_after_commit(connection.pk)


def materialise_missed_events(now: dt.datetime | None = None) -> int:
    """Plan every recent event whose records are missing (a handler that was not registered, a connection
    created in the same instant). Idempotent; returns how many records it created."""
    now = now or timezone.now()
    mark, _ = SweepMark.objects.get_or_create(name="events")
    created = 0
    events = DomainEvent.objects.filter(id__gt=mark.position).order_by("id")
    settled, advancing = mark.position, True
    connections: dict[uuid.UUID, list[Connection]] = {}
    for event in events.iterator():
        if event.organisation_id not in connections:
            connections[event.organisation_id] = live_connections(event.organisation_id)
        for connection in connections[event.organisation_id]:
            if connection.connected_at <= event.created_at:
                created += queue_records(connection, plan_event(event), event_id=str(event.id))
        # The mark only moves over a run of settled events, so a late-committing one is never skipped.
        advancing = advancing and event.created_at < now - EVENT_GRACE
        if advancing:
            settled = event.id
    if settled != mark.position:
        SweepMark.objects.filter(pk=mark.pk).update(position=settled)
    return created
