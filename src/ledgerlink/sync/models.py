"""The sync engine's durable state. The records, not the job queue, are the truth: a lost doorbell, a dead
worker or a crash between two lines loses no work, because every step starts from these rows."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from ledgerlink.ledgers.contract import ObjectKind


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SYNCED = "synced", "Synced"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    RETRYING = "retrying", "Retrying"
    PAUSED = "paused", "Paused (reconnect)"
    SKIPPED = "skipped", "Skipped"


#: States a worker may pick up once `next_attempt_at` has passed (in_flight only when its lease lapsed).
DUE_STATES = (SyncState.PENDING, SyncState.RETRYING, SyncState.IN_FLIGHT)
#: States the user can send again with "retry".
RETRYABLE_STATES = (SyncState.NEEDS_ATTENTION, SyncState.RETRYING, SyncState.SKIPPED)

KIND_CHOICES = [(kind.value, kind.value.replace("_", " ")) for kind in ObjectKind]


class SyncRecord(models.Model):
    """One CashFlow object to be carried to one connection's ledger, and where it stands."""

    # Neither key has an index of its own: composite indexes below lead with each (`sync_record_org_state`;
    # the due, claim and chain ones), and every record inserted pays for every index it is in.
    organisation = models.ForeignKey(
        "cashflow.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    connection = models.ForeignKey(
        "ledgers.Connection", on_delete=models.CASCADE, related_name="sync_records", db_index=False
    )
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    operation = models.CharField(max_length=16, default="create")
    subject_type = models.CharField(max_length=32)  # the CashFlow model: customer, invoice, payment, ...
    subject_id = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64, blank=True, default="")  # the DomainEvent that caused it
    history_push = models.ForeignKey(
        "sync.HistoricalPush",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
        db_index=False,  # `sync_record_push_progress` leads with it
    )
    # Ordering inside one connection: the id of the CashFlow event that made the object (CashFlow's own
    # order), then kind. Everything touching one invoice (it, its payments, their reversals, its
    # cancellation) shares that invoice's id as `chain` and goes out in that order (docs/sync.md).
    sequence = models.BigIntegerField(default=0)
    chain = models.CharField(max_length=64, blank=True, default="")  # the invoice's id; "" for customers

    state = models.CharField(max_length=20, choices=SyncState.choices, default=SyncState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A record waiting for another (an invoice for its customer) sleeps until that one syncs.
    waiting_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lease_owner = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    last_error = models.TextField(blank=True, default="")  # plain words, shown to the user
    error_kind = models.CharField(max_length=32, blank=True, default="")
    error_is_configuration = models.BooleanField(default=False)

    remote_id = models.CharField(max_length=64, blank=True, default="")
    remote_number = models.CharField(max_length=64, blank=True, default="")
    cashflow_total_minor = models.BigIntegerField(null=True, blank=True)
    ledger_total_minor = models.BigIntegerField(null=True, blank=True)
    total_mismatch = models.BooleanField(default=False)

    # Exactly-once bookkeeping (docs/sync.md): the key of the last request that carried this record, the
    # generation that key was derived from, and since when its outcome has been unknown.
    generation = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=64, blank=True, default="")
    unknown_outcome_since = models.DateTimeField(null=True, blank=True)
    # Ids written by the finished steps of a multi-step operation (a credit note before its allocation), so
    # a crash between steps resumes at the next step instead of writing the first one again.
    step_ids = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "subject_id", "operation"],
                name="sync_record_once_per_connection",
            )
        ]
        indexes = [
            models.Index(fields=["connection", "state", "next_attempt_at"], name="sync_record_due"),
            # A claim walks each due state in CashFlow's order and stops at its batch (leases.claim).
            models.Index(fields=["connection", "state", "sequence", "id"], name="sync_record_claim"),
            models.Index(fields=["organisation", "state"], name="sync_record_org_state"),
            models.Index(fields=["connection", "chain", "sequence"], name="sync_record_chain"),
            # A push's progress is counted from the index alone (`history.refresh_progress`, every run).
            models.Index(fields=["history_push", "kind", "state"], name="sync_record_push_progress"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} -> {self.connection_id} [{self.state}]"

    @property
    def object_kind(self) -> ObjectKind:
        return ObjectKind(self.kind)


class RemoteLink(models.Model):
    """The durable map of a CashFlow object to its id in one connection's ledger."""

    connection = models.ForeignKey(  # the unique key below leads with it
        "ledgers.Connection", on_delete=models.CASCADE, related_name="remote_links", db_index=False
    )
    subject_type = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=64)
    remote_number = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "subject_type", "subject_id"], name="remote_link_once_per_connection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id} = {self.remote_id}"


class Attempt(models.Model):
    """The audit log: one row per call to a ledger. Allowlisted fields only; never tokens or bodies."""

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(  # `sync_attempt_recent` leads with it
        "ledgers.Connection", on_delete=models.CASCADE, related_name="sync_attempts", db_index=False
    )
    records = models.ManyToManyField(SyncRecord, related_name="attempt_log", blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=8, blank=True, default="")
    path = models.CharField(max_length=200, blank=True, default="")
    item_count = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=64, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True, default="")
    calls_used = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=32)  # ok | partial | retry | reconnect | unknown_outcome | ...
    error_message = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["connection", "started_at"], name="sync_attempt_recent")]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.response_status} ({self.outcome})"


class HistoricalPush(models.Model):
    """A user's request to push invoices issued before the connection existed. Resumable: the records it
    created are the truth; `done` and `failed` are refreshed from them."""

    class State(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"
        DONE = "done"
        CANCELLED = "cancelled"

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        "ledgers.Connection", on_delete=models.CASCADE, related_name="history_pushes"
    )
    selection = models.JSONField(
        default=dict
    )  # {"all": true} | {"from": "...", "to": "..."} | {"ids": [...]}
    total = models.PositiveIntegerField(default=0)  # invoices selected
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"history push {self.pk}: {self.done}/{self.total} [{self.state}]"

    def eta(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """Time left at the pace so far; None before the first invoice lands."""
        finished = self.done + self.failed
        if finished == 0 or self.total == 0:
            return None
        elapsed = ((now or timezone.now()) - self.started_at).total_seconds()
        remaining = max(self.total - finished, 0)
        return dt.timedelta(seconds=elapsed / finished * remaining)


class TenantBudget(models.Model):
    """Rate-limit state shared by every worker for one ledger tenant (docs/sync.md, "Rate limiting").

    One row per (provider, tenant), updated under a row lock: the last minute's call times (a sliding log,
    so no 60-second window ever holds more than the limit while the ledger's window offset is unknown), a
    day counter, the calls in flight (holder -> lease expiry), a pause set by Retry-After or an exhausted
    remaining-count header, and the phase of the ledger's fixed minute windows once learned."""

    provider = models.CharField(max_length=16)
    tenant_id = models.CharField(max_length=64)
    # [epoch seconds, calls] per permit or charge in the last 60 s, oldest first (ratelimit.CallLog)
    minute_calls = models.JSONField(default=list)
    day_started_at = models.DateTimeField(default=timezone.now)
    day_count = models.PositiveIntegerField(default=0)
    in_flight = models.JSONField(default=dict)  # holder -> epoch seconds when the slot lapses
    paused_until = models.DateTimeField(null=True, blank=True)
    minute_remaining = models.IntegerField(null=True, blank=True)  # as last reported by the ledger
    day_remaining = models.IntegerField(null=True, blank=True)
    # When the call behind `minute_remaining` left (epoch seconds): which window the count belongs to.
    minute_reported_sent_at = models.FloatField(null=True, blank=True)
    # The last few remaining-counts heard, [sent_at, received_at, remaining]: a count that did not go down
    # between two calls shows a window boundary between them.
    minute_reports = models.JSONField(default=list)
    # A time (epoch seconds) at or before which one of the ledger's minute windows certainly ended, and how
    # much earlier it may have ended; every window ends a ledger minute after another. None: not learned.
    window_end = models.FloatField(null=True, blank=True)
    window_end_error_s = models.FloatField(default=0.0)
    # When the one call let past a spent minute to learn the window's phase was taken (epoch seconds).
    probe_at = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "tenant_id"], name="tenant_budget_once")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.tenant_id}"


class SweepMark(models.Model):
    """Where the sweeper has got to in CashFlow's event log, and when each schedule last ran (catch-up)."""

    name = models.CharField(max_length=64, unique=True)
    position = models.BigIntegerField(default=0)
    ran_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}@{self.position}"
