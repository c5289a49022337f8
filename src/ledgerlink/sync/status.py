"""What the product shows about sync, per invoice and per organisation, in the words of cashflow.md
("Sync status on every invoice: synced, pending, not attempted, error (with the message), disconnected")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync.models import SyncRecord, SyncState


@dataclass(frozen=True)
class InvoiceSyncStatus:
    label: str  # synced | pending | not attempted | error | disconnected
    message: str = ""  # plain words: why it waits, what the user must fix, a total that differs
    remote_id: str = ""


_LABELS = {
    SyncState.SYNCED: "synced",
    SyncState.PENDING: "pending",
    SyncState.IN_FLIGHT: "pending",
    SyncState.RETRYING: "pending",
    SyncState.NEEDS_ATTENTION: "error",
    SyncState.PAUSED: "disconnected",
    SyncState.SKIPPED: "not attempted",
}


def invoice_statuses(connection: Connection, invoice_ids: Iterable[object]) -> dict[str, InvoiceSyncStatus]:
    """The status of each invoice in this connection's ledger, by invoice id (one query)."""
    ids = [str(i) for i in invoice_ids]
    records = SyncRecord.objects.filter(connection=connection, kind=ObjectKind.INVOICE, subject_id__in=ids)
    found = {record.subject_id: _status(connection, record) for record in records}
    missing = InvoiceSyncStatus("disconnected" if not _live(connection) else "not attempted")
    return {invoice_id: found.get(invoice_id, missing) for invoice_id in ids}


def _live(connection: Connection) -> bool:
    return connection.status == ConnectionStatus.ACTIVE


def _status(connection: Connection, record: SyncRecord) -> InvoiceSyncStatus:
    label = _LABELS[SyncState(record.state)]
    if label != "synced" and not _live(connection):
        label = "disconnected"
    return InvoiceSyncStatus(label, record.last_error, record.remote_id)


def configuration_failures(organisation: object) -> list[SyncRecord]:
    """Records waiting for the user because of a missing or invalid ledger account or tax setting: what the
    daily recap lists (cashflow.md, "Daily recap")."""
    return list(
        SyncRecord.objects.filter(
            organisation=organisation, state=SyncState.NEEDS_ATTENTION, error_is_configuration=True
        ).order_by("created_at")
    )
