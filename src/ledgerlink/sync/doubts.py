"""The worker's doubtful records: a request whose answer never came may have landed. While the ledger still
remembers its idempotency key the whole request is replayed under that key (answered from the ledger's
cache if it had landed); after that, or when a companion of the request is gone, each object is looked up
before it is written again (docs/sync.md, "Exactly once", 5 and 6). A mixin of `worker._Run`."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db.models import Count
from django.utils import timezone

from ledgerlink.ledgers.contract import RemoteRef, SyncItem
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.sync import transitions
from ledgerlink.sync.models import SyncRecord
from ledgerlink.sync.policy import replay_is_safe

if TYPE_CHECKING:
    from ledgerlink.ledgers.models import Connection
    from ledgerlink.sync.session import LedgerSession


class DoubtfulRecords:
    connection: Connection
    session: LedgerSession
    report: Any

    if TYPE_CHECKING:  # provided by the run (a stub here would shadow the real method in the MRO)

        def call_lookup(self, item: SyncItem) -> RemoteRef | None: ...
        def on_lookup_error(self, pairs: list[tuple[SyncRecord, SyncItem]], error: LedgerError) -> None: ...

    def resolve_doubts(self, ready: list[tuple[SyncRecord, SyncItem]]) -> list[tuple[SyncRecord, SyncItem]]:
        """Records whose last request may have landed: replay it whole with its key while the ledger still
        remembers the key; otherwise (key expired, a cached error, a companion gone) look each one up
        before writing it again. Returns what may be sent, replays keeping their key."""
        groups: dict[str, list[tuple[SyncRecord, SyncItem]]] = defaultdict(list)
        settled: list[tuple[SyncRecord, SyncItem]] = []
        to_look_up: list[tuple[SyncRecord, SyncItem]] = []
        for record, item in ready:
            if record.unknown_outcome_since is None:
                settled.append((record, item))
            elif record.idempotency_key:
                groups[record.idempotency_key].append((record, item))
            else:
                to_look_up.append((record, item))
        in_doubt = self._in_doubt_counts(list(groups))
        now = timezone.now()
        for key, pairs in groups.items():
            whole = len(pairs) == in_doubt.get(key, 0)
            fresh_enough = all(
                r.unknown_outcome_since is not None  # set on every grouped record (see above)
                and replay_is_safe(r.unknown_outcome_since, self.session.key_lifetime, now)
                for r, _ in pairs
            )
            (settled if whole and fresh_enough else to_look_up).extend(pairs)
        for record, item in to_look_up:
            if not self._settled_by_lookup(record, item):
                settled.append((record, item))
        return settled

    def _in_doubt_counts(self, keys: list[str]) -> dict[str, int]:
        """How many records of this connection are in doubt under each key: a replay must carry them all,
        since a key re-used on a different request is refused."""
        if not keys:
            return {}
        rows = (
            SyncRecord.objects.filter(
                connection=self.connection, idempotency_key__in=keys, unknown_outcome_since__isnull=False
            )
            .values("idempotency_key")
            .annotate(count=Count("id"))
        )
        return {row["idempotency_key"]: row["count"] for row in rows}

    def _settled_by_lookup(self, record: SyncRecord, item: SyncItem) -> bool:
        """An outcome unknown for longer than the key lives: look the object up before writing it again.
        True when the record is settled (found and linked, or waiting to look again)."""
        try:
            found = self.call_lookup(item)
        except LedgerError as error:
            self.on_lookup_error([(record, item)], error)
            return True
        if found is not None:
            transitions.mark_synced(record, found, self.session.display_name)
            self.report.synced += 1
            return True
        # Not there: the earlier write never landed. Write it afresh under a new key.
        record.generation += 1
        record.unknown_outcome_since, record.idempotency_key = None, ""
        record.save(update_fields=["generation", "unknown_outcome_since", "idempotency_key", "updated_at"])
        return False
