"""The sync engine's part of API v1 (mounted on CashFlow's API by SyncConfig.ready, since cashflow never
imports its consumers): each invoice's sync state with every object under it, and the organisation's queue,
so a client can wait for "caught up" instead of guessing."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from ledgerlink.cashflow.models import Invoice
from ledgerlink.cashflow.schemas import READ_ERRORS
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync import status
from ledgerlink.sync.outbox import live_connections

router = Router(tags=["sync"])


class ObjectSyncOut(Schema):
    kind: str
    subject_id: str
    state: str  # synced | pending | not attempted | error | disconnected
    message: str
    remote_id: str
    remote_number: str


class LedgerSyncOut(Schema):
    provider: str
    tenant_id: str
    connection_status: str
    state: str
    message: str
    objects: list[ObjectSyncOut]


class InvoiceSyncOut(Schema):
    invoice_id: uuid.UUID
    number: str
    state: str  # the least settled of every ledger's: "synced" only when everything everywhere is
    ledgers: list[LedgerSyncOut]


class QueueOut(Schema):
    caught_up: bool
    waiting_to_send: int
    needs_attention: int
    by_state: dict[str, int]
    connections: list[dict[str, str]]


def _ledger_out(connection: Connection, found: status.InvoiceSyncStatus) -> LedgerSyncOut:
    objects = [
        ObjectSyncOut(
            kind=o.kind,
            subject_id=o.subject_id,
            state=o.label,
            message=o.message,
            remote_id=o.remote_id,
            remote_number=o.remote_number,
        )
        for o in found.objects
    ]
    return LedgerSyncOut(
        provider=connection.provider,
        tenant_id=connection.tenant_id,
        connection_status=connection.status,
        state=found.label,
        message=found.message,
        objects=objects,
    )


@router.get("/invoices/{invoice_id}/sync", response={200: InvoiceSyncOut, **READ_ERRORS})
def invoice_sync(request: HttpRequest, invoice_id: uuid.UUID) -> InvoiceSyncOut:
    """Where an invoice and everything under it (payments, refunds, its cancellation) stand in each ledger."""
    organisation = request.ledgerlink_organisation  # type: ignore[attr-defined]
    invoice = Invoice.objects.filter(organisation=organisation, pk=invoice_id).first()
    if invoice is None:
        raise Http404
    ledgers = [
        _ledger_out(connection, status.invoice_statuses(connection, [invoice.pk])[str(invoice.pk)])
        for connection in live_connections(organisation.pk)
    ]
    worst = min((ledger.state for ledger in ledgers), key=status.urgency, default="not attempted")
    return InvoiceSyncOut(invoice_id=invoice.pk, number=invoice.number, state=worst, ledgers=ledgers)


@router.get("/sync", response={200: QueueOut, 401: READ_ERRORS[401]})
def queue(request: HttpRequest) -> QueueOut:
    """The organisation's queue: `caught_up` is true once nothing is left to send (what waits for a fix is
    counted in `needs_attention`)."""
    organisation = request.ledgerlink_organisation  # type: ignore[attr-defined]
    depth = status.queue_depth(organisation)
    connections = [
        {"provider": c.provider, "status": c.status, "last_error": c.last_error}
        for c in live_connections(organisation.pk)
    ]
    return QueueOut(
        caught_up=depth.caught_up,
        waiting_to_send=depth.waiting_to_send,
        needs_attention=depth.needs_attention,
        by_state=depth.by_state,
        connections=connections,
    )
