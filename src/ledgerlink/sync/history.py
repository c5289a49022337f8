"""Historical sync: push invoices issued before the connection existed, with everything that happened to
them since (payments, reversals, cancellations). The records it queues are the truth, so a push survives
restarts and resumes where it stopped; the `HistoricalPush` row only tracks progress for the user.

Cost: records are packed like live ones, so N invoices take about N/50 invoice calls, N/50 payment calls,
the customer look-ups the ledger batches, and contact creations in batches of 50."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledgerlink.cashflow.models import DomainEvent, Invoice, InvoiceStatus, Payment, PaymentReversal
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync import doorbell, outbox
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState
from ledgerlink.sync.outbox import Planned, queue_records

QUEUE_CHUNK = 500
SENT_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PART_PAID, InvoiceStatus.PAID, InvoiceStatus.CANCELLED)


class NoConnection(Exception):
    """The organisation has no active ledger connection to push to."""


class InvalidSelection(ValueError):
    """The selection cannot be used (malformed invoice ids, a date range ending before it starts); the
    message says which, for the user."""


@dataclass(frozen=True)
class Selection:
    """Which historical invoices: all of them, those issued in a date range, or these ids."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    ids: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise `InvalidSelection` for ids that are not CashFlow invoice ids or an upside-down range."""
        if self.ids and (self.date_from or self.date_to):
            raise InvalidSelection("Choose either invoice ids or a date range, not both.")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidSelection("The date range ends before it starts.")
        for invoice_id in self.ids:
            try:
                uuid.UUID(str(invoice_id))
            except ValueError:
                raise InvalidSelection(f"{invoice_id!r} is not a CashFlow invoice id.") from None

    def as_json(self) -> dict[str, object]:
        if self.ids:
            return {"ids": list(self.ids)}
        if self.date_from or self.date_to:
            return {
                "from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
            }
        return {"all": True}


def select_invoices(connection: Connection, selection: Selection) -> QuerySet[Invoice]:
    """Sent invoices of the connection's organisation issued before it connected, narrowed by `selection`.
    Invoices issued later are carried live by their events and are never selected twice."""
    invoices = Invoice.objects.filter(
        organisation_id=connection.organisation_id,
        status__in=SENT_STATUSES,
        issued_at__lt=connection.connected_at,
    )
    if selection.ids:
        invoices = invoices.filter(id__in=selection.ids)
    if selection.date_from:
        invoices = invoices.filter(issue_date__gte=selection.date_from)
    if selection.date_to:
        invoices = invoices.filter(issue_date__lte=selection.date_to)
    return invoices.order_by("issue_date", "number")


def active_connection(organisation_id: uuid.UUID | str) -> Connection:
    connection = Connection.objects.filter(
        organisation_id=organisation_id, status=ConnectionStatus.ACTIVE
    ).first()
    if connection is None:
        raise NoConnection("Connect a ledger first: there is no active connection to push to.")
    return connection


def start_push(organisation_id: uuid.UUID | str, selection: Selection) -> HistoricalPush:
    """Queue the selected invoices and what followed them, then ring the worker. Re-running with the same
    selection adds nothing twice (records are unique per connection and object). Raises `InvalidSelection`
    or `NoConnection` with a sentence for the user."""
    selection.validate()
    connection = active_connection(organisation_id)
    invoices = select_invoices(connection, selection)
    push = HistoricalPush.objects.create(
        organisation_id=organisation_id, connection=connection, selection=selection.as_json()
    )
    ids = list(invoices.values_list("id", flat=True))
    for start in range(0, len(ids), QUEUE_CHUNK):
        with transaction.atomic():
            _queue_chunk(push, connection, [str(i) for i in ids[start : start + QUEUE_CHUNK]])
    # What this push carries: selected invoices not already queued by an earlier push.
    push.total = SyncRecord.objects.filter(history_push=push, kind=ObjectKind.INVOICE).count()
    push.save(update_fields=["total"])
    refresh_progress(push)
    doorbell.ring_after_commit(connection.pk)
    return push


def _plan_chunk(organisation_id: uuid.UUID | str, invoice_ids: Sequence[str]) -> list[Planned]:
    """What the invoices' events asked for (the invoice and its customer, payments, reversals, credit
    notes), planned exactly as live events are, so history and live records of one invoice share CashFlow's
    order. One record per object: the first plan of it wins."""
    customers = {
        str(invoice_id): str(customer_id)
        for invoice_id, customer_id in Invoice.objects.filter(id__in=invoice_ids).values_list(
            "id", "customer_id"
        )
    }
    planned: dict[tuple[ObjectKind, str], Planned] = {}
    for event in chunk_events(organisation_id, invoice_ids):
        for step in outbox.plan_event(event, customers):
            planned.setdefault((step.kind, step.subject_id), step)
    return list(planned.values())


def chunk_events(organisation_id: uuid.UUID | str, invoice_ids: Sequence[str]) -> list[DomainEvent]:
    """Every event of these invoices (the organisation's), in CashFlow's order. An event's subject is the
    invoice, one of its payments or one of their reversals (cashflow/events.py), so each is found through
    the subject index, at a cost that does not grow with the organisation's other events. Matching the
    payload's invoice id instead walked all of them for every chunk: quadratic in the backlog, 38 s of
    queuing at 100,000."""
    # SQLite prefers an index on the organisation to one on the subject when it is filtered by (the ids are
    # the organisation's already) or may be ordered by (the models' default `id` order): neither is asked.
    payments = [
        str(pk)
        for pk in Payment.objects.filter(invoice_id__in=invoice_ids).order_by().values_list("id", flat=True)
    ]
    reversals = (
        PaymentReversal.objects.filter(payment_id__in=payments).order_by().values_list("id", flat=True)
    )
    subjects = {
        "invoice": list(invoice_ids),
        "payment": payments,
        "payment_reversal": [str(pk) for pk in reversals],
    }
    events = [
        event
        for subject_type, ids in subjects.items()
        if ids
        for event in DomainEvent.objects.filter(
            organisation_id=organisation_id, subject_type=subject_type, subject_id__in=ids
        ).order_by()
    ]
    return sorted(events, key=lambda event: event.id)


def _queue_chunk(push: HistoricalPush, connection: Connection, invoice_ids: Sequence[str]) -> None:
    queue_records(connection, _plan_chunk(connection.organisation_id, invoice_ids), history_push=push)
    # Records that already existed (a payment's invoice carried over earlier) join this push's progress.
    SyncRecord.objects.filter(
        connection=connection,
        kind=ObjectKind.INVOICE,
        subject_id__in=invoice_ids,
        history_push__isnull=True,
    ).update(history_push=push)


def refresh_progress(push: HistoricalPush) -> HistoricalPush:
    """Recount done and failed invoices from the records; a push with nothing left open is done."""
    invoices = SyncRecord.objects.filter(history_push=push, kind=ObjectKind.INVOICE)
    push.done = invoices.filter(state=SyncState.SYNCED).count()
    push.failed = invoices.filter(state__in=(SyncState.NEEDS_ATTENTION, SyncState.SKIPPED)).count()
    open_records = SyncRecord.objects.filter(history_push=push).exclude(
        state__in=(SyncState.SYNCED, SyncState.NEEDS_ATTENTION, SyncState.SKIPPED)
    )
    if push.state == HistoricalPush.State.RUNNING and not open_records.exists():
        push.state, push.finished_at = HistoricalPush.State.DONE, timezone.now()
    push.save(update_fields=["done", "failed", "state", "finished_at"])
    return push


def cancel_push(push: HistoricalPush) -> int:
    """Stop a push: its records not yet sent are skipped (already synced ones stay in the ledger)."""
    with transaction.atomic():
        count = SyncRecord.objects.filter(
            history_push=push, state__in=(SyncState.PENDING, SyncState.RETRYING)
        ).update(
            state=SyncState.SKIPPED, last_error="The historical push was cancelled.", error_kind="skipped"
        )
        push.state, push.finished_at = HistoricalPush.State.CANCELLED, timezone.now()
        push.save(update_fields=["state", "finished_at"])
    return count
