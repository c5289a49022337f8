"""Per-invoice order: everything that touches one invoice (the invoice, its payments, their reversals, its
cancellation) reaches the ledger in CashFlow's order, across claims, batches, runs and consumers.

Rule: a record of an invoice's chain may be sent only once every earlier record of that chain is settled:
in the ledger (synced) or never going there (skipped). Otherwise it waits on the earliest one still open and
wakes when that one syncs (`transitions.mark_all_synced`). Earlier means a lower `sequence` (the id of the
CashFlow event that made it), then an earlier kind in `SEND_ORDER` (an invoice before its payment when both
came from one event), then the lower id.

Why strict: a ledger judges each write against what it already holds. A credit note allocated before a
refund's payment re-post is refused (the invoice looks paid), and a payment sent after an allocation may
exceed what is due; in both cases the books end wrong though every call "worked" on its own. Batching across
invoices is untouched: only records of the same invoice wait for each other.
"""

from __future__ import annotations

from typing import Any

from ledgerlink.ledgers.contract import SEND_ORDER, ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.status import OBJECT_NAMES

SETTLED_STATES = (SyncState.SYNCED, SyncState.SKIPPED)
_KIND_RANK = {kind.value: rank for rank, kind in enumerate(SEND_ORDER)}


def position(record: SyncRecord) -> tuple[int, int, int]:
    """Where a record stands in its chain: CashFlow's event order, then kind, then id."""
    return (record.sequence, _KIND_RANK[record.kind], record.pk)


# What a blocker is read with: enough to place it in its chain and to tell the user why a record waits. In
# the model's own field order, which `Model.from_db` expects of a partial row.
_MEMBER_FIELDS = tuple(
    field.attname
    for field in SyncRecord._meta.concrete_fields
    if field.attname in {"id", "chain", "sequence", "kind", "state", "last_error"}
)
_PLACE = tuple(_MEMBER_FIELDS.index(name) for name in ("chain", "sequence", "kind", "id"))


def blockers(connection_id: int, records: list[SyncRecord]) -> dict[int, SyncRecord]:
    """For each of `records` that must wait, the record it waits for (one query for all of them): the
    earliest unsettled record of its chain, when that one comes before it.

    The chains' open members are read as plain rows, and only the earliest of a chain that holds one of
    `records` back becomes a record: a backfill's claim has a thousand open members, and a model instance
    each cost more than the rest."""
    chains = {record.chain for record in records if record.chain and record.kind != ObjectKind.CUSTOMER}
    if not chains:
        return {}
    open_members = SyncRecord.objects.filter(connection_id=connection_id, chain__in=chains).exclude(
        state__in=SETTLED_STATES
    )
    earliest: dict[str, tuple[tuple[int, int, int], tuple[Any, ...]]] = {}
    for row in open_members.values_list(*_MEMBER_FIELDS):
        chain, sequence, kind, pk = (row[i] for i in _PLACE)
        place = (sequence, _KIND_RANK[kind], pk)
        if chain not in earliest or place < earliest[chain][0]:
            earliest[chain] = (place, row)
    # Only a chain that holds a record back needs its earliest as a record (most hold none back).
    first: dict[str, SyncRecord] = {}
    waits: dict[int, SyncRecord] = {}
    for record in records:
        if record.chain in earliest and earliest[record.chain][0] < position(record):
            if record.chain not in first:
                row = earliest[record.chain][1]
                first[record.chain] = SyncRecord.from_db(open_members.db, _MEMBER_FIELDS, row)
            waits[record.pk] = first[record.chain]
    return waits


def waiting_reason(blocker: SyncRecord, ledger_name: str) -> str:
    """What the waiting record tells the user: the earlier object it waits for, and why that one is stuck."""
    what = (
        "its invoice"
        if blocker.kind == ObjectKind.INVOICE
        else f"an earlier {OBJECT_NAMES[ObjectKind(blocker.kind)].lower()}"
    )
    if blocker.state == SyncState.NEEDS_ATTENTION:
        return f"Waiting for {what}, which needs attention: {blocker.last_error}"
    if blocker.state == SyncState.PAUSED:
        return f"Waiting for {what}; {ledger_name} needs reconnecting."
    return f"Waiting for {what} to reach {ledger_name} first, as in CashFlow's order."
