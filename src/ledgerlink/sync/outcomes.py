"""The worker's outcomes: how each record moves on the ledger's answer for it (synced with its id, the next
step of a multi-step operation, waiting for the user, retrying, in doubt), and how a failed request or
look-up ends the run when the ledger speaks for the whole tenant (docs/sync.md, "Error kinds -> states").
The engine acts on the error's kind and fields, never on a status. A mixin of `worker._Run`."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ledgerlink.cashflow.money import from_minor, to_minor
from ledgerlink.ledgers.contract import ItemOutcome, LedgerRequest, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import (
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
    UnknownOutcome,
)
from ledgerlink.sync import ratelimit, transitions
from ledgerlink.sync.models import SyncRecord

if TYPE_CHECKING:
    from ledgerlink.ledgers.models import Connection
    from ledgerlink.sync.session import LedgerSession

log = logging.getLogger(__name__)
TENANT_WAIT_S = 60.0  # a tenant-wide pause whose ledger named no wait


class RunStopped(Exception):
    """End this run now; ring again after `resume_in_s` (None: only the sweeper or a user will)."""

    def __init__(self, reason: str, resume_in_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.resume_in_s = reason, resume_in_s


class Outcomes:
    connection: Connection
    session: LedgerSession
    report: Any

    if TYPE_CHECKING:  # provided by the run (a stub here would shadow the real method in the MRO)

        def call_lookup(self, item: SyncItem) -> RemoteRef | None: ...

    def apply_outcomes(
        self,
        records: dict[str, SyncRecord],
        outcomes: Iterable[ItemOutcome],
        request: LedgerRequest | None = None,
    ) -> list[SyncItem]:
        """Move each record by the ledger's answer for it; returns the items that need a next step."""
        expected_items = {item.record_id: item for item in (request.items if request else ())}
        by_id: dict[str, ItemOutcome] = {}
        for outcome in outcomes:
            if outcome.record_id in records:
                by_id[outcome.record_id] = outcome
            else:
                log.warning(
                    "the ledger answered for record %s, which this request did not carry", outcome.record_id
                )
        # The batch's successes first and at once (one transaction), before an error may end the run.
        synced = [
            (records[record_id], outcome.remote)
            for record_id, outcome in by_id.items()
            if outcome.error is None
            and outcome.remote is not None
            and (outcome.done or record_id not in expected_items)
        ]
        transitions.mark_all_synced(synced, self.session.display_name)
        self.report.synced += len(synced)
        done = {str(record.pk) for record, _ in synced}
        for silent in expected_items.values():
            if silent.record_id not in by_id:
                self.on_item_error(
                    records[silent.record_id], silent, UnknownOutcome("The ledger said nothing about it.")
                )
        follow_ups = []
        for record_id, outcome in by_id.items():
            if record_id in done:
                continue
            record, item = records[record_id], expected_items.get(record_id)
            if outcome.error is not None:
                self.on_item_error(record, item, outcome.error)
            elif not outcome.done and item is not None:
                follow_ups.append(self.next_step(record, item, outcome))
            else:
                self.on_item_error(record, item, UnknownOutcome("The ledger returned no id for it."))
        return follow_ups

    def next_step(self, record: SyncRecord, item: SyncItem, outcome: ItemOutcome) -> SyncItem:
        """A step of a multi-step operation landed: keep its ids and return the item for the next step."""
        record.step_ids = {**record.step_ids, **outcome.extra_ids}
        record.unknown_outcome_since = None
        if outcome.remote is not None and outcome.remote.total is not None:
            record.ledger_total_minor = to_minor(outcome.remote.total)
        record.save(update_fields=["step_ids", "unknown_outcome_since", "ledger_total_minor", "updated_at"])
        return dataclasses.replace(item, remote_ids={**item.remote_ids, **outcome.extra_ids})

    # --- errors -----------------------------------------------------------------------------------------

    def refresh_if_rejected(self, error: LedgerError) -> LedgerError:
        """An access token the ledger refused as expired (early: clock skew, or the ledger ended it) is
        refreshed before the retry, whichever call met the refusal; until then every run would meet it
        again, for as long as the token's own expiry time says it is good. The refresh's own failure
        (the grant is gone, the sign-in service is down) is what the records then wait on."""
        if not isinstance(error, TokenExpired):
            return error
        try:
            self.session.token_rejected()
        except LedgerError as refresh_error:
            return refresh_error
        return error

    def on_request_error(self, records: list[SyncRecord], request: LedgerRequest, error: LedgerError) -> None:
        """The whole request failed: every item in it shares the fate, per the error's kind."""
        error = self.refresh_if_rejected(error)
        self.stop_if_tenant_wide(records, error)
        items = {item.record_id: item for item in request.items}
        for record in records:
            self.on_item_error(record, items.get(str(record.pk)), error)

    def on_lookup_error(self, pairs: list[tuple[SyncRecord, SyncItem]], error: LedgerError) -> None:
        """A read (customer match, look-up) failed: nothing was written, so nothing is in doubt anew."""
        error = self.refresh_if_rejected(error)
        self.stop_if_tenant_wide([record for record, _ in pairs], error)
        for record, item in pairs:
            self.on_item_error(record, item, error, lookup_failed=True)

    def stop_if_tenant_wide(self, records: list[SyncRecord], error: LedgerError) -> None:
        """The ledger spoke for the whole tenant (rate limit, offline, maintenance): pause every worker on
        it for the wait it named, and end this run."""
        if not (isinstance(error, Retry) and error.scope == "tenant"):
            return
        wait = error.after_s or TENANT_WAIT_S
        ratelimit.pause(self.session.provider, self.session.tenant_id, wait)
        for record in records:
            transitions.mark_retry(
                record,
                error,
                retry_after_s=wait,
                in_doubt=record.unknown_outcome_since is not None,
                fresh_key=False,
            )
        raise RunStopped(error.message, resume_in_s=wait)

    def on_item_error(
        self, record: SyncRecord, item: SyncItem | None, error: LedgerError, *, lookup_failed: bool = False
    ) -> None:
        if isinstance(error, Reconnect):
            transitions.pause_connection(self.connection, error.message)
            raise RunStopped(error.message)
        if isinstance(error, NeedsAttention):
            if not lookup_failed:
                record.unknown_outcome_since = None  # the ledger answered for this item: it did not land
            transitions.mark_attention(record, error)
        elif isinstance(error, Conflict) and item is not None and not lookup_failed:
            self.resolve_conflict(record, item, error)
        elif isinstance(error, UnknownOutcome) or lookup_failed:
            transitions.mark_retry(
                record, error, in_doubt=record.unknown_outcome_since is not None, fresh_key=False
            )
        elif isinstance(error, Retry):
            # A write that may have landed is looked up next time instead of replayed (the ledger may have
            # cached its failure under the key); one that surely did not goes again under a new key.
            transitions.mark_retry(record, error, retry_after_s=error.after_s, in_doubt=error.maybe_written)
            if error.maybe_written:
                SyncRecord.objects.filter(pk=record.pk).update(idempotency_key="")
        else:
            transitions.mark_attention(record, error)

    def resolve_conflict(self, record: SyncRecord, item: SyncItem, error: Conflict) -> None:
        """The number already exists: link it when it is this very object (same total), else ask the user."""
        try:
            found = self.call_lookup(item)
        except LedgerError as lookup_error:
            self.on_lookup_error([(record, item)], lookup_error)
            return
        ledger = self.session.display_name
        if found is None:
            transitions.mark_attention(
                record, f"{error.message} ({ledger} refused it as a duplicate, yet it cannot be found there.)"
            )
            return
        ours, theirs = record.cashflow_total_minor, found.total
        if theirs is None or ours is None or to_minor(theirs) == ours:
            transitions.mark_synced(record, found, ledger)
            self.report.synced += 1
            return
        number = getattr(item.document, "number", "") or record.subject_id
        record.unknown_outcome_since = None  # what is in the ledger is known now: not ours
        transitions.mark_attention(
            record,
            f"{number} already exists in {ledger} with a total of {theirs}, but CashFlow's total is "
            f"{from_minor(ours)}. Rename or void the one in {ledger}, then retry.",
        )
