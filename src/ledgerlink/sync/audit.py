"""The audit log: one `Attempt` per call to a ledger, with allowlisted fields only (method, path, item count,
status, correlation id, duration, outcome and the plain error sentence). Never a token, header or body."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from ledgerlink.ledgers.contract import ItemOutcome, LedgerRequest, LedgerResponse
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync.models import Attempt, SyncRecord

_thread_calls = threading.local()


def count_call(sender: object, calls: int = 1, **details: object) -> None:
    """`ledgers.signals.ledger_call_made` receiver: counts this thread's HTTP calls, so an attempt knows
    how many calls it really cost (a paged look-up is several)."""
    _thread_calls.count = getattr(_thread_calls, "count", 0) + calls


def calls_so_far() -> int:
    """HTTP calls this thread has made so far (as `ledgers.http` reports them)."""
    return int(getattr(_thread_calls, "count", 0))


class _Entry:
    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt

    def answered(self, response: LedgerResponse) -> None:
        self.attempt.response_status = response.status
        self.attempt.correlation_id = response.correlation_id[:100]

    def outcomes(self, outcomes: Sequence[ItemOutcome]) -> None:
        failed = sum(1 for outcome in outcomes if outcome.error is not None)
        self.attempt.outcome = "ok" if not failed else ("failed" if failed == len(outcomes) else "partial")
        first = next((o.error for o in outcomes if o.error is not None), None)
        if first is not None:
            self.attempt.error_message, self.attempt.error_code = first.message, first.code[:100]

    def ok(self) -> None:
        self.attempt.outcome = "ok"


class AttemptLog:
    """Writes the attempts of one connection's run."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @contextmanager
    def timed(self, request: LedgerRequest, key: str, records: Sequence[SyncRecord]) -> Iterator[_Entry]:
        """Log one send; an error raised inside is recorded (kind, code, status) and re-raised."""
        with self._timed(request.method, request.path, [record.pk for record in records], key) as entry:
            yield entry

    @contextmanager
    def timed_call(self, method: str, what: str, record_ids: Sequence[int]) -> Iterator[_Entry]:
        """Log one read made for the records `record_ids` (a look-up, a customer match)."""
        with self._timed(method, what, record_ids, "") as entry:
            yield entry

    @contextmanager
    def _timed(self, method: str, path: str, record_ids: Sequence[int], key: str) -> Iterator[_Entry]:
        attempt = Attempt(
            organisation_id=self.connection.organisation_id,
            connection=self.connection,
            started_at=timezone.now(),
            method=method[:8],
            path=path[:200],
            item_count=len(record_ids),
            idempotency_key=key,
            outcome="unknown_outcome",
        )
        entry = _Entry(attempt)
        started, calls_before = time.monotonic(), calls_so_far()
        try:
            yield entry
        except LedgerError as error:
            attempt.outcome = error.kind
            attempt.error_message, attempt.error_code = error.message, error.code[:100]
            attempt.response_status = error.status
            attempt.correlation_id = error.correlation_id[:100]
            raise
        except Exception as error:
            attempt.outcome, attempt.error_message = (
                "unknown_outcome",
                f"Unexpected error: {type(error).__name__}",
            )
            raise
        finally:
            attempt.duration_ms = int((time.monotonic() - started) * 1000)
            attempt.calls_used = calls_so_far() - calls_before or 1  # in-process ledgers send no signal
            with transaction.atomic():  # one commit for the attempt and its links, not one per link
                attempt.save()
                _link(attempt, record_ids)


def _link(attempt: Attempt, record_ids: Sequence[int]) -> None:
    """The attempt's links to its records, inserted by one prepared statement run per link. The attempt is
    new, so there is nothing to read back (`records.set` would, and build the rows through the related
    manager); `bulk_create` built a model instance per link, a twentieth of the engine's CPU per invoice."""
    meta, quote = Attempt.records.through._meta, db.ops.quote_name
    columns = ", ".join(quote(_column(meta.get_field(name))) for name in ("attempt", "syncrecord"))
    # Only the link table's own table and column names, quoted, are formatted in; values are parameters.
    statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES (%s, %s)"  # noqa: S608
    with db.cursor() as cursor:
        cursor.executemany(statement, [(attempt.pk, record_id) for record_id in record_ids])


def _column(field: object) -> str:
    column = getattr(field, "column", None)
    assert isinstance(column, str)  # both sides of the link are foreign keys, each a column of its own
    return column
