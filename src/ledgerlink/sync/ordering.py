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

from collections import defaultdict
from collections.abc import Iterable

from ledgerlink.ledgers.contract import SEND_ORDER, ObjectKind
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.status import OBJECT_NAMES

SETTLED_STATES = (SyncState.SYNCED, SyncState.SKIPPED)
_KIND_RANK = {kind.value: rank for rank, kind in enumerate(SEND_ORDER)}


def position(record: SyncRecord) -> tuple[int, int, int]:
    """Where a record stands in its chain: CashFlow's event order, then kind, then id."""
    return (record.sequence, _KIND_RANK[record.kind], record.pk)


def earliest_open_predecessor(record: SyncRecord, chain_members: Iterable[SyncRecord]) -> SyncRecord | None:
    """The earliest unsettled record of `record`'s chain that comes before it, if any (pure)."""
    mine = position(record)
    earlier = [
        other
        for other in chain_members
        if other.pk != record.pk and other.state not in SETTLED_STATES and position(other) < mine
    ]
    return min(earlier, key=position, default=None)


def blockers(connection_id: int, records: list[SyncRecord]) -> dict[int, SyncRecord]:
    """For each of `records` that must wait, the record it waits for (one query for all of them)."""
    chains = {record.chain for record in records if record.chain and record.kind != ObjectKind.CUSTOMER}
    if not chains:
        return {}
    open_members = SyncRecord.objects.filter(connection_id=connection_id, chain__in=chains).exclude(
        state__in=SETTLED_STATES
    )
    by_chain: dict[str, list[SyncRecord]] = defaultdict(list)
    for member in open_members.only("id", "chain", "sequence", "kind", "state", "last_error"):
        by_chain[member.chain].append(member)
    found = {}
    for record in records:
        blocker = earliest_open_predecessor(record, by_chain.get(record.chain, ()))
        if blocker is not None:
            found[record.pk] = blocker
    return found


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
