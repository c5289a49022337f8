"""What the product shows about sync, per invoice and per organisation, in the words of cashflow.md
("Sync status on every invoice: synced, pending, not attempted, error (with the message), disconnected").

An invoice's status covers everything under it in the ledger (its chain: the invoice, its payments, their
reversals, its cancellation): it is "synced" only when all of them are, and otherwise says which object
holds it up and why."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync.models import SyncRecord, SyncState


@dataclass(frozen=True)
class ObjectSyncStatus:
    """One object of an invoice in one ledger: the invoice itself, a payment, a reversal, a cancellation."""

    kind: str
    subject_id: str
    label: str
    message: str = ""
    remote_id: str = ""
    remote_number: str = ""

    @property
    def name(self) -> str:
        return OBJECT_NAMES[ObjectKind(self.kind)]


@dataclass(frozen=True)
class InvoiceSyncStatus:
    label: str  # synced | pending | not attempted | error | disconnected
    message: str = ""  # plain words: why it waits, what the user must fix, a total that differs
    remote_id: str = ""
    objects: tuple[ObjectSyncStatus, ...] = ()


_LABELS = {
    SyncState.SYNCED: "synced",
    SyncState.PENDING: "pending",
    SyncState.IN_FLIGHT: "pending",
    SyncState.RETRYING: "pending",
    SyncState.NEEDS_ATTENTION: "error",
    SyncState.PAUSED: "disconnected",
    SyncState.SKIPPED: "not attempted",
}
# Which object speaks for the invoice: the one that needs the user most.
_URGENCY = {"error": 0, "disconnected": 1, "pending": 2, "not attempted": 3, "synced": 4}
#: How a page names each object of an invoice (the waiting messages too).
OBJECT_NAMES = {
    ObjectKind.INVOICE: "Invoice",
    ObjectKind.PAYMENT: "Payment",
    ObjectKind.PAYMENT_REVERSAL: "Refund or reversal",
    ObjectKind.CANCELLATION: "Cancellation",
}
OPEN_STATES = (SyncState.PENDING, SyncState.IN_FLIGHT, SyncState.RETRYING)


def urgency(label: str) -> int:
    """Lower is more in need of the user; an invoice shows its most urgent object."""
    return _URGENCY[label]


def invoice_statuses(connection: Connection, invoice_ids: Iterable[object]) -> dict[str, InvoiceSyncStatus]:
    """The status of each invoice in this connection's ledger, by invoice id (one query)."""
    ids = [str(i) for i in invoice_ids]
    records = SyncRecord.objects.filter(connection=connection, chain__in=ids).order_by("sequence", "id")
    chains: dict[str, list[SyncRecord]] = defaultdict(list)
    for record in records:
        chains[record.chain].append(record)
    missing = InvoiceSyncStatus("disconnected" if not _live(connection) else "not attempted")
    return {invoice_id: _invoice_status(connection, chains[invoice_id]) or missing for invoice_id in ids}


def _live(connection: Connection) -> bool:
    return connection.status == ConnectionStatus.ACTIVE


def _object_status(connection: Connection, record: SyncRecord) -> ObjectSyncStatus:
    label = _LABELS[SyncState(record.state)]
    if label != "synced" and not _live(connection):
        label = "disconnected"
    return ObjectSyncStatus(
        record.kind, record.subject_id, label, record.last_error, record.remote_id, record.remote_number
    )


def _invoice_status(connection: Connection, chain: list[SyncRecord]) -> InvoiceSyncStatus | None:
    invoice = next((r for r in chain if r.kind == ObjectKind.INVOICE), None)
    if invoice is None:
        return None
    objects = tuple(_object_status(connection, record) for record in chain)
    worst = min(objects, key=lambda o: (urgency(o.label), o.kind != ObjectKind.INVOICE))
    message = worst.message
    if worst.kind != ObjectKind.INVOICE and message:
        message = f"{OBJECT_NAMES[ObjectKind(worst.kind)]}: {message}"
    if worst.label == "synced":  # all synced: a total that differs is still worth saying
        message = next((o.message for o in objects if o.message), "")
    return InvoiceSyncStatus(worst.label, message, invoice.remote_id, objects)


def chains_in_state(organisation: Organisation, state: str) -> list[str]:
    """Invoices (ids) with at least one object in `state`: the console's filter."""
    rows = SyncRecord.objects.filter(organisation=organisation, state=state).exclude(chain="")
    return list(rows.values_list("chain", flat=True).distinct())


@dataclass(frozen=True)
class QueueDepth:
    """Where an organisation's sync stands: records by state, and whether the engine has caught up (nothing
    left to send; what waits for the user is counted apart)."""

    by_state: dict[str, int]

    @property
    def waiting_to_send(self) -> int:
        return sum(self.by_state.get(state, 0) for state in OPEN_STATES)

    @property
    def needs_attention(self) -> int:
        return self.by_state.get(SyncState.NEEDS_ATTENTION, 0)

    @property
    def caught_up(self) -> bool:
        return self.waiting_to_send == 0 and not self.by_state.get(SyncState.PAUSED, 0)


def queue_depth(organisation: Organisation) -> QueueDepth:
    states = SyncRecord.objects.filter(organisation=organisation).exclude(state=SyncState.SYNCED)
    counts = Counter(states.values_list("state", flat=True))
    unsynced = [state for state in SyncState.values if state != SyncState.SYNCED]
    return QueueDepth({state: counts.get(state, 0) for state in unsynced})


def configuration_failures(organisation: Organisation) -> list[SyncRecord]:
    """Records waiting for the user because of a missing or invalid ledger account or tax setting: what the
    daily recap lists (cashflow.md, "Daily recap")."""
    return list(
        SyncRecord.objects.filter(
            organisation=organisation, state=SyncState.NEEDS_ATTENTION, error_is_configuration=True
        ).order_by("created_at")
    )
