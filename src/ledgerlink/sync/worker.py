"""The worker: one run syncs the due records of one connection (docs/sync.md, "One run").

claim (lease) -> load documents -> per kind in SEND_ORDER: dependencies, pre-flight, look-ups for unknown
outcomes -> pack by the ledger's batch size -> for each request: rate permit + in-flight slot, fresh token,
write-ahead mark, send with the deterministic key, read per-item outcomes, move states, log the attempt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from ledgerlink.cashflow.models import TaxRate
from ledgerlink.ledgers import books
from ledgerlink.ledgers import contract as c
from ledgerlink.ledgers.contract import (
    SEND_ORDER,
    Ledger,
    LedgerRequest,
    ObjectKind,
    RemoteRef,
    SyncItem,
)
from ledgerlink.ledgers.errors import (
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    UnknownOutcome,
)
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.ledgers.signals import SyncBlocked, sync_requested
from ledgerlink.sync import audit, doorbell, leases, ordering, ratelimit, transitions
from ledgerlink.sync.audit import AttemptLog
from ledgerlink.sync.documents import SUBJECT_TYPES, cashflow_total_minor, load_documents
from ledgerlink.sync.doubts import DoubtfulRecords
from ledgerlink.sync.models import DUE_STATES, HistoricalPush, RemoteLink, SyncRecord, SyncState
from ledgerlink.sync.outcomes import Outcomes, RunStopped
from ledgerlink.sync.policy import request_key
from ledgerlink.sync.preflight import preflight_problems
from ledgerlink.sync.session import LedgerSession, open_session

log = logging.getLogger(__name__)
T = TypeVar("T")

CLAIM_BATCH = 1000  # at most, per claim: a historical push claims many batches of every kind at once
MIN_CLAIM_BATCHES = 3  # at least, per claim: a backfill sends three kinds (customers, invoices, payments)
RUN_BUDGET_S = 50.0  # a run hands over to a fresh task before huey's worker is tied up for long
MAX_INLINE_WAIT_S = 3.0  # rate-limit waits up to this are slept through; longer ones end the run
# A run that ends on a rate-limit wait rings its successor this much before the budget opens, so claiming,
# loading and building the next batches overlap the wait instead of following it; the successor sleeps the
# rest inline (less than MAX_INLINE_WAIT_S, so it does not end again) and sends as the window opens.
PREPARE_LEAD_S = 2.0
AFTER_CRASH_S = 10.0  # a run that failed unexpectedly is tried again after this long
MAX_STEPS = 4  # multi-step operations: credit note then allocation; delete then re-post a payment

_Chunk = list[tuple[SyncRecord, SyncItem]]  # records sent in one request, with their items

# Which ledger ids each kind needs first: (kind of the dependency, its subject id, the remote_ids key).
_Dependency = tuple[ObjectKind, str, str]


def dependencies(kind: ObjectKind, document: c.Document) -> list[_Dependency]:
    """The objects that must be in the ledger before this one, in the contract's `remote_ids` words."""
    if isinstance(document, c.Invoice):
        return [(ObjectKind.CUSTOMER, document.customer.id, "contact")]
    if isinstance(document, c.Payment):
        return [(ObjectKind.INVOICE, document.invoice_id, "invoice")]
    if isinstance(document, c.PaymentReversal):
        return [
            (ObjectKind.INVOICE, document.payment.invoice_id, "invoice"),
            (ObjectKind.PAYMENT, document.payment.id, "payment"),
        ]
    if isinstance(document, c.Cancellation):
        return [
            (ObjectKind.CUSTOMER, document.invoice.customer.id, "contact"),
            (ObjectKind.INVOICE, document.invoice.id, "invoice"),
        ]
    return []


@dataclass
class RunReport:
    """What one run did; the CLI and tests read it."""

    claimed: int = 0
    synced: int = 0
    calls: int = 0
    stopped_for: str = ""
    resume_in_s: float | None = None


def _carry_rule(claimed: int, asked: int) -> bool | None:
    """Whether a claim's part-filled batches wait to be topped up: yes after a full claim (more is due), no
    after an empty one (only held-over batches are left: send them), else per kind (`_Run.process`)."""
    if claimed >= asked:
        return True
    return None if claimed else False


def sync_connection(
    connection_id: int,
    *,
    session: LedgerSession | None = None,
    owner: str | None = None,
    budget_s: float = RUN_BUDGET_S,
) -> RunReport:
    """Sync the due records of one connection until none are due, the budget is spent, or the ledger says
    stop. Safe to run in any number of workers at once: records are leased, budgets shared."""
    connection = Connection.objects.select_related("organisation").get(pk=connection_id)
    report = RunReport()
    if connection.status != ConnectionStatus.ACTIVE:
        report.stopped_for = f"connection is {connection.status}"
        return report
    try:
        # Another app may forbid syncing (billing: the subscription ended); sync never imports it.
        sync_requested.send(sender=Connection, organisation=connection.organisation, connection=connection)
    except SyncBlocked as blocked:
        transitions.hold_connection(connection, blocked.message)
        report.stopped_for = blocked.message
        return report
    if not leases.due_records(connection.pk, timezone.now()).exists():
        return report  # a doorbell for work another run already did: no token, no mapping, no call
    if session is None:
        try:
            session = open_session(connection)
        except LedgerError as error:  # the grant is gone (Reconnect), or the sign-in service failed (Retry)
            report.stopped_for = error.message
            if isinstance(error, Reconnect):
                transitions.pause_connection(connection, error.message)
            return report
    _Run(connection, session, owner or leases.new_owner(), budget_s, report).execute()
    return report


class _Run(DoubtfulRecords, Outcomes):
    """One run for one connection: the loop, what it sends and how (doubtful records and outcomes are
    its two mixins, in doubts.py and outcomes.py)."""

    def __init__(
        self, connection: Connection, session: LedgerSession, owner: str, budget_s: float, report: RunReport
    ) -> None:
        self.connection, self.session, self.owner, self.report = connection, session, owner, report
        self.deadline = time.monotonic() + budget_s
        self.audit = AttemptLog(connection)
        self._holders = itertools.count()
        self._tax_names: dict[str, str] | None = None
        self._pushes: set[int] = set()
        # Per kind, the part-filled last batch of a full claim, still leased, sent with the next claim's.
        self._carried: dict[ObjectKind, _Chunk] = {}

    # --- the loop ---------------------------------------------------------------------------------------

    def execute(self) -> None:
        resume: float | None = None
        holding = False  # whether this run may still hold leases (a clean finish has released them all)
        try:
            while time.monotonic() < self.deadline:
                holding = True
                asked = self.claim_size()
                records = leases.claim(self.connection.pk, self.owner, asked)
                if not records and not self._carried:
                    holding = False  # the last pass released what it held, and this claim took nothing
                    break
                self.keep_carried_leases()
                self.report.claimed += len(records)
                self._pushes.update(r.history_push_id for r in records if r.history_push_id)
                self.process(records, carry=_carry_rule(len(records), asked))
                # Nothing else is held across claims.
                leases.release_unfinished(self.owner, self.connection.pk, keep=self.carried_ids())
            else:
                resume = 0.0  # out of time with work left: hand over to a fresh run
        except RunStopped as stop:
            self.report.stopped_for, resume = str(stop), stop.resume_in_s
        except Exception:
            # A bug or a lost database: the records go back, and a run comes back for them soon rather than
            # at the sweeper's next minute (or never, where no sweeper runs).
            resume = AFTER_CRASH_S
            raise
        finally:
            if holding:
                leases.release_unfinished(self.owner, self.connection.pk, dt.timedelta(seconds=resume or 0))
            self.report.resume_in_s = resume
            if resume is not None:
                doorbell.ring(self.connection.pk, delay_s=resume)
        self.refresh_pushes()
        if resume is None:
            self.release_copies()

    def claim_size(self) -> int:
        """How many records to claim: about what the tenant's budget can send before the run would have to
        stop for it. A run ends at a long wait and its successor claims again, so whatever it had claimed
        beyond that was loaded, matched and built twice (a whole claim per run was 18% of a 10,000-invoice
        backfill's documents). A long wait ahead of a learned window ends the run before it claims.

        Sized only where the ledger's fixed minute windows are learned: a window spent is a wait to its
        end. A sliding minute frees calls as they age, so its waits are mostly short and slept through, and
        smaller claims there cost passes (each a match, a load, a parking of what waits) for no gain. A
        short wait into the next window sizes the claim for that window. Never less than
        `MIN_CLAIM_BATCHES` on top of what is held over: claims of a batch or two, split among kinds, fill
        none of them and cost a pass each."""
        limits, size = self.session.limits, self.session.ledger.max_batch
        batch_cost = size if limits.items_metered else 1  # what a full batch spends of the minute
        room = ratelimit.headroom(
            self.session.provider,
            self.session.tenant_id,
            limits,
            cost=batch_cost,
            horizon_s=MAX_INLINE_WAIT_S,  # a window ending meanwhile is slept into, not stopped for
        )
        if not room.window_known:
            # Nor is a wait stopped for before the claim: preparing it first often leaves one short
            # enough to sleep through, where stopping up front would end the run and idle.
            return CLAIM_BATCH
        if room.wait_s > 0:
            self.stop_if_long(room.wait_s)
        if room.calls_left >= batch_cost or room.wait_s <= 0:
            batches = room.calls_left // batch_cost
        else:
            batches = limits.per_minute // batch_cost
        wanted = max(batches, MIN_CLAIM_BATCHES) * size - len(self.carried_ids())
        return min(CLAIM_BATCH, max(wanted, size))

    def release_copies(self) -> None:
        """A run that found nothing left to claim: once nothing of the connection is open (no other worker
        holds a record, none waits), drop this process's copy of the tenant's customers (ledgers/books.py),
        which a finished backfill has no more use for."""
        if not SyncRecord.objects.filter(connection=self.connection, state__in=DUE_STATES).exists():
            books.release(self.session.tenant_id)

    def carried_ids(self) -> list[int]:
        """Records held over from the last claim in a part-filled batch."""
        return [record.pk for chunk in self._carried.values() for record, _ in chunk]

    def keep_carried_leases(self) -> None:
        """Extend the lease on the held-over records; if any was lost, let them all go to their new holder."""
        if self._carried and not leases.renew(self.carried_ids(), self.owner):
            log.info("lease lost on held-over records; leaving them to their new holder")
            self._carried.clear()

    def refresh_pushes(self) -> None:
        """Historical pushes whose records this run moved: recount their progress."""
        from ledgerlink.sync.history import refresh_progress

        for push in HistoricalPush.objects.filter(pk__in=self._pushes, state=HistoricalPush.State.RUNNING):
            refresh_progress(push)

    def process(self, records: list[SyncRecord], *, carry: bool | None = None) -> None:
        """Send `records` kind by kind in SEND_ORDER, topped up by what the last claim held over. With
        `carry`, each kind's last part-filled batch is held over to fill up with the next claim's records,
        so a long push sends full batches across claims (dependents of held-over records wait for them).
        `carry=None` decides per kind: hold over when more of that kind became due meanwhile (records
        woken by this very pass: invoices whose customers it just created)."""
        by_kind: dict[ObjectKind, list[SyncRecord]] = defaultdict(list)
        for record in records:
            by_kind[record.object_kind].append(record)
        for kind in SEND_ORDER:
            ready = self._carried.pop(kind, [])
            if by_kind.get(kind):
                prepared = self.prepare(kind, by_kind[kind])
                if kind == ObjectKind.CUSTOMER and prepared:
                    prepared = self.match_customers(prepared)
                ready += prepared
            replays, fresh = self.pack(ready)
            if fresh and len(fresh[-1]) < self.session.ledger.max_batch and self._hold_over(kind, carry):
                self._carried[kind] = fresh.pop()
            for chunk in replays + fresh:
                self.push(chunk)

    def _hold_over(self, kind: ObjectKind, carry: bool | None) -> bool:
        if carry is not None:
            return carry
        return leases.due_records(self.connection.pk, timezone.now()).filter(kind=kind).exists()

    # --- before any write -------------------------------------------------------------------------------

    def prepare(self, kind: ObjectKind, records: list[SyncRecord]) -> list[tuple[SyncRecord, SyncItem]]:
        """Turn records into items: documents loaded, dependencies linked (or waited for), pre-flight
        passed, and unknown outcomes past the key's lifetime looked up. Returns what may be sent."""
        documents = load_documents(kind, self.connection.organisation_id, [r.subject_id for r in records])
        links = self._dependency_links(kind, documents.values())
        earlier = ordering.blockers(self.connection.pk, records)
        ready = []
        in_order: list[tuple[SyncRecord, SyncRecord]] = []
        on_dependency: list[tuple[SyncRecord, _Dependency]] = []
        for record in records:
            document = documents.get(record.subject_id)
            if document is None:
                transitions.mark_skipped(record, "The CashFlow record no longer exists.")
                continue
            if record.pk in earlier:
                in_order.append((record, earlier[record.pk]))
                continue
            record.cashflow_total_minor = cashflow_total_minor(document)
            item, missing = self._item(record, kind, document, links)
            if missing is not None:
                on_dependency.append((record, missing))
                continue
            assert item is not None
            problems = preflight_problems(item, self.session, self._tax_rate_names())
            if problems:
                transitions.mark_attention(record, " ".join(problems), configuration=True)
                continue
            ready.append((record, item))
        self._wait_in_order(in_order)
        self._wait_for(on_dependency)
        return self.resolve_doubts(ready)

    def _dependency_links(
        self, kind: ObjectKind, documents: Iterable[c.Document]
    ) -> dict[tuple[str, str], str]:
        wanted: dict[str, set[str]] = defaultdict(set)
        for document in documents:
            for dep_kind, dep_id, _ in dependencies(kind, document):
                wanted[SUBJECT_TYPES[dep_kind]].add(dep_id)
        links: dict[tuple[str, str], str] = {}
        for subject_type, ids in wanted.items():
            rows = RemoteLink.objects.filter(
                connection=self.connection, subject_type=subject_type, subject_id__in=ids
            ).values_list("subject_id", "remote_id")
            links.update({(subject_type, subject_id): remote_id for subject_id, remote_id in rows})
        return links

    def _item(
        self, record: SyncRecord, kind: ObjectKind, document: c.Document, links: dict[tuple[str, str], str]
    ) -> tuple[SyncItem | None, _Dependency | None]:
        """The item to send, or the first dependency not in the ledger yet (the record then waits for it)."""
        remote_ids = dict(record.step_ids)
        for dependency in dependencies(kind, document):
            dep_kind, dep_id, key = dependency
            remote_id = links.get((SUBJECT_TYPES[dep_kind], dep_id))
            if remote_id is None:
                return None, dependency
            remote_ids[key] = remote_id
        item = SyncItem(
            record_id=str(record.pk),
            kind=kind,
            document=document,
            remote_ids=remote_ids,
            historical=record.history_push_id is not None,
        )
        return item, None

    def _wait_in_order(self, waits: list[tuple[SyncRecord, SyncRecord]]) -> None:
        """Park each record behind the earlier record of its invoice that is not in the ledger yet."""
        name = self.session.display_name
        transitions.defer_all(
            [(record, blocker, ordering.waiting_reason(blocker, name)) for record, blocker in waits]
        )

    def _wait_for(self, waits: list[tuple[SyncRecord, _Dependency]]) -> None:
        """Park each record behind its dependency, creating the dependency's record when there is none (a
        payment on an invoice issued before the connection carries that invoice over first)."""
        deferrals = []
        for dep_kind in {dependency[0] for _, dependency in waits}:
            of_kind = [(record, dependency) for record, dependency in waits if dependency[0] == dep_kind]
            known = {
                dependency.subject_id: dependency
                for dependency in SyncRecord.objects.filter(
                    connection=self.connection,
                    kind=dep_kind,
                    subject_id__in={dep_id for _, (_, dep_id, _) in of_kind},
                    operation="create",
                )
            }
            label = dep_kind.value.replace("_", " ")
            reason = f"Waiting for its {label} to reach {self.session.display_name}."
            for record, (_, dep_id, _) in of_kind:
                if dep_id not in known:
                    known[dep_id] = self._dependency_record(record, dep_kind, dep_id)
                deferrals.append((record, known[dep_id], reason))
        # Only its dependency in the ledger lets a record go on: one skipped would leave it nothing to name.
        transitions.defer_all(deferrals, released_by=(SyncState.SYNCED,))

    def _dependency_record(self, record: SyncRecord, dep_kind: ObjectKind, dep_id: str) -> SyncRecord:
        dependency, _ = SyncRecord.objects.get_or_create(
            connection=self.connection,
            kind=dep_kind,
            subject_id=dep_id,
            operation="create",
            defaults={
                "organisation_id": self.connection.organisation_id,
                "subject_type": SUBJECT_TYPES[dep_kind],
                "sequence": record.sequence,
                "chain": "" if dep_kind == ObjectKind.CUSTOMER else record.chain,
                "history_push_id": record.history_push_id,
            },
        )
        return dependency

    def _tax_rate_names(self) -> dict[str, str]:
        if self._tax_names is None:
            rows = TaxRate.objects.filter(organisation_id=self.connection.organisation_id)
            self._tax_names = {str(pk): name for pk, name in rows.values_list("id", "name")}
        return self._tax_names

    def match_customers(self, ready: list[tuple[SyncRecord, SyncItem]]) -> list[tuple[SyncRecord, SyncItem]]:
        """Customers found in the ledger by email are linked without a write; the rest are created."""
        records = {str(record.pk): record for record, _ in ready}
        try:
            resolution = self.call(
                lambda ledger: ledger.resolve_customers([item for _, item in ready]),
                "GET",
                "contacts (match by email)",
                list(records),
            )
        except LedgerError as error:
            self.on_lookup_error(ready, error)
            return []
        self.apply_outcomes(records, resolution.matched)
        return [(records[item.record_id], item) for item in resolution.to_create]

    def pack(self, ready: list[tuple[SyncRecord, SyncItem]]) -> tuple[list[_Chunk], list[_Chunk]]:
        """Chunks of at most the ledger's batch size: (replays, fresh). Records replaying an unknown outcome
        travel with the same companions as before, so the rebuilt request matches its key (a
        section 4); the fresh ones fill batches in order."""
        replays: dict[str, _Chunk] = defaultdict(list)
        fresh: _Chunk = []
        # One canonical order, CashFlow's (sequence, then id): a request's key is made from its items in
        # order, and a replay is claimed in this order, so the first send must use it too. A batch held over
        # from the last claim and topped up with an older record woken since was sent in another order, and
        # its replay then went out under a new key: a second write of what had landed.
        for record, item in sorted(ready, key=lambda pair: (pair[0].sequence, pair[0].pk)):
            if record.unknown_outcome_since and record.idempotency_key:
                replays[record.idempotency_key].append((record, item))
            else:
                fresh.append((record, item))
        size = self.session.ledger.max_batch
        return list(replays.values()), [fresh[i : i + size] for i in range(0, len(fresh), size)]

    # --- writing ----------------------------------------------------------------------------------------

    def push(self, chunk: list[tuple[SyncRecord, SyncItem]]) -> None:
        """Send one chunk through every step of its operation."""
        records = {str(record.pk): record for record, _ in chunk}
        items = [item for _, item in chunk]
        for _ in range(MAX_STEPS):
            if not items:
                return
            items = [follow for request in self.build(items) for follow in self.exchange(request, records)]
        for item in items:
            transitions.mark_attention(
                records[item.record_id], "The ledger asked for more steps than expected."
            )

    def build(self, items: Sequence[SyncItem]) -> list[LedgerRequest]:
        """The ledger's requests for `items`. When building fails for the chunk, each item is tried alone
        to find the bad ones (they wait for the user or go again later), and the rest still share a batch."""
        try:
            with self.metered_apart():
                return self.session.ledger.build(items, self.session.mapping)
        except (LedgerError, ValueError) as error:
            if isinstance(error, LedgerError) and not isinstance(error, NeedsAttention):
                # A ledger may read while building (a SyncToken, its own items): a transient failure there
                # wrote nothing, so these records wait and go again, as after a failed read.
                by_id = {str(r.pk): r for r in SyncRecord.objects.filter(pk__in=[i.record_id for i in items])}
                self.on_lookup_error([(by_id[item.record_id], item) for item in items], error)
                return []
            if len(items) == 1:
                record = SyncRecord.objects.get(pk=items[0].record_id)
                # Building a replay reads the ledger as it is now, after the request may have landed (a
                # payment our unanswered delete removed reads "not found"): only the ledger settles a doubt,
                # so ask it whether the step happened; if it did not, the refusal stands.
                if record.unknown_outcome_since is not None and self._settled_by_lookup(record, items[0]):
                    return []
                problem = error if isinstance(error, LedgerError) else str(error)
                transitions.mark_attention(
                    record, problem, configuration=getattr(error, "configuration", True)
                )
                return []
            buildable = [item for item in items if self.build([item])]
            if len(buildable) == len(items):  # each builds alone but not together: send them apart
                return [request for item in items for request in self.build([item])]
            return self.build(buildable) if buildable else []

    def exchange(self, request: LedgerRequest, records: dict[str, SyncRecord]) -> list[SyncItem]:
        """One request: permit, token, write-ahead mark, send, read. Returns items needing a next step."""
        mine = [records[item.record_id] for item in request.items]
        generations = {str(record.pk): record.generation for record in mine}
        key = request_key(self.connection.pk, request.step, request, generations)
        holder = self.take_permit(request.cost)
        answer: object = None  # what the ledger said about our budget: a response, or a Retry's wait
        with ratelimit.answers_kept_for_release():  # recorded by the release, in its transaction
            try:
                ledger = self.session.ready()
                if not self.mark_sent(mine, key):
                    log.info("lease lost on %s records; leaving them to their new holder", len(mine))
                    return []
                with self.audit.timed(request, key, mine) as attempt:
                    self.report.calls += 1
                    answer = response = ledger.send(request, key)
                    attempt.answered(response)
                    outcomes = ledger.read(response, request)
                    attempt.outcomes(outcomes)
            except LedgerError as error:
                answer = error
                self.give_back(holder, answer)
                holder = ""
                self.on_request_error(mine, request, error)
                return []
            except Exception as error:  # a bug or an unmapped transport failure: maybe sent, never guess
                log.exception("unexpected error sending to %s", self.connection)
                self.give_back(holder, answer)
                holder = ""
                unknown = UnknownOutcome(f"Unexpected error: {type(error).__name__}")
                self.on_request_error(mine, request, unknown)
                return []
            finally:
                if holder:  # every path gives the in-flight slot back, the lease-lost one included
                    self.give_back(holder, answer)
        return self.apply_outcomes(records, outcomes, request)

    def mark_sent(self, records: list[SyncRecord], key: str) -> bool:
        """Write-ahead, committed before the request leaves: these records may be in the ledger from now
        on. A replay of the same key keeps its first send time (the key's lifetime counts from there). One
        statement with the lease's renewal: False, and nothing marked, when the lease on any was lost."""
        now = timezone.now()
        ids = [record.pk for record in records]
        replay = Q(idempotency_key=key, unknown_outcome_since__isnull=False)
        marked = leases.renew(
            ids,
            self.owner,
            now,
            unknown_outcome_since=Case(When(replay, then=F("unknown_outcome_since")), default=Value(now)),
            idempotency_key=key,
            attempts=F("attempts") + 1,
        )
        if not marked:
            return False
        for record in records:
            if record.idempotency_key != key or record.unknown_outcome_since is None:
                record.unknown_outcome_since = now
            record.idempotency_key = key
            record.attempts += 1
        return True

    # --- calls other than sends -------------------------------------------------------------------------

    def call(self, fn: Callable[[Ledger], T], method: str, what: str, record_ids: list[str]) -> T:
        """A read call (look-up, customer match) under the same permit, token and audit as a send."""
        holder = self.take_permit()
        failure: LedgerError | None = None
        calls_before = audit.calls_so_far()
        with ratelimit.answers_kept_for_release():
            try:
                ledger = self.session.ready()
                logged = self.audit.timed_call(method, what, [int(pk) for pk in record_ids])
                with logged as attempt, self.metered_apart(permitted=1):
                    self.report.calls += 1
                    result = fn(ledger)
                    attempt.ok()
            except LedgerError as error:
                failure = error
                raise
            finally:
                if failure is None and audit.calls_so_far() == calls_before:
                    # Answered without a call (a backfill's customer match, from the contacts read once).
                    limits = self.session.limits
                    ratelimit.refund(self.session.provider, self.session.tenant_id, holder, limits)
                else:
                    self.give_back(holder, failure)
        return result

    @contextlib.contextmanager
    def metered_apart(self, permitted: int = 0) -> Iterator[None]:
        """Charge the tenant's budget with the calls this thread makes inside beyond the `permitted` ones
        (a ledger's own reads while building or matching), whether or not they succeed: counted as the
        audit counts them (`audit.calls_so_far`)."""
        before = audit.calls_so_far()
        try:
            yield
        finally:
            made = audit.calls_so_far() - before
            ratelimit.charge(self.session.provider, self.session.tenant_id, made - permitted)

    def call_lookup(self, item: SyncItem) -> RemoteRef | None:
        return self.call(
            lambda ledger: ledger.find_existing(item), "GET", f"find {item.kind.value}", [item.record_id]
        )

    def take_permit(self, cost: int = 1) -> str:
        """`cost` rate-limit tokens (a request's `cost`) and an in-flight slot for this tenant; short waits
        are slept through."""
        holder = f"{self.owner}:{next(self._holders)}"
        while True:
            wait = ratelimit.acquire(
                self.session.provider, self.session.tenant_id, holder, self.session.limits, cost=cost
            )
            if wait <= 0:
                return holder
            self.stop_if_long(wait)
            time.sleep(wait)

    def stop_if_long(self, wait: float) -> None:
        """End the run at a rate-limit wait too long to sleep through; its successor is rung to start
        preparing a little before the wait is over."""
        if wait > MAX_INLINE_WAIT_S or time.monotonic() + wait > self.deadline:
            raise RunStopped("rate limit", resume_in_s=max(wait - PREPARE_LEAD_S, 0.0))

    def give_back(self, holder: str, answer: object) -> None:
        """The slot back. What an answer said of the budget reached the limiter as it arrived (`ledgers.http`
        reports every answer, reads inside a look-up too); a Retry's own wait is the engine's to add."""
        budget = None
        if isinstance(answer, Retry) and answer.after_s:
            budget = c.RateBudget(retry_after_s=answer.after_s)
        ratelimit.release(self.session.provider, self.session.tenant_id, holder, budget)
