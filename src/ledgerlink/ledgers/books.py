"""A process's copy of one tenant's customer list (and whatever else decides a match or a name clash), read
once per backfill and kept current from what the engine itself creates, so a long push's later claims match
without a call. Every provider keeps its copies here (one `Books` each, so two ledgers' tenant ids never
meet); what a row is and how it is read stays the provider's.

The rules every provider follows:
- only a claim of many customers (a backfill's, where exact look-ups would cost more than one call) reads the
  whole list and keeps it; a claim of a few (live sync) always asks the ledger exactly, so a customer someone
  added there a minute ago is matched by its email, never duplicated;
- a copy stands for `BOOK_FRESH_S` (real seconds); after that the next claim reads again;
- a refused customer create drops the copy: someone else changed the tenant, so the next claim reads again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledgerlink.ledgers.contract import Customer, ItemOutcome, RemoteRef, SyncItem

BOOK_FRESH_S = 600.0

Row = Mapping[str, Any]


@dataclass
class _Book:
    rows: list[Row]
    read_at: float  # time.monotonic()
    created: list[Row] = field(default_factory=list)


class Books:
    """One provider's copies, by tenant."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> list[Row] | None:
        """The copy (rows read, then rows created since), or None when there is none still fresh."""
        with self._lock:
            book = self._books.get(tenant_id)
            if book is None or time.monotonic() - book.read_at > BOOK_FRESH_S:
                self._books.pop(tenant_id, None)
                return None
            return [*book.rows, *book.created]

    def keep(self, tenant_id: str, rows: list[Row]) -> None:
        with self._lock:
            self._books[tenant_id] = _Book(rows, time.monotonic())

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's copy: the next claim reads again."""
        with self._lock:
            self._books.pop(tenant_id, None)

    def created(
        self,
        tenant_id: str,
        items: Sequence[SyncItem],
        outcomes: Sequence[ItemOutcome],
        row: Callable[[Customer, RemoteRef], Row],
    ) -> None:
        """After a customer create: a refusal drops the copy; else the customers made are added to it (if
        one is kept) as the ledger now holds them (`row` writes one in the provider's shape)."""
        if any(outcome.error is not None for outcome in outcomes):
            self.forget(tenant_id)
            return
        by_id = {item.record_id: item.document for item in items}
        made = [
            row(customer, outcome.remote)
            for outcome in outcomes
            if outcome.remote is not None and isinstance(customer := by_id.get(outcome.record_id), Customer)
        ]
        with self._lock:
            book = self._books.get(tenant_id)
            if book is not None:
                book.created.extend(made)

    def read_once(self, tenant_id: str, read: Callable[[], list[Row]]) -> list[Row]:
        """The copy, read now (and kept) if there is none fresh."""
        kept = self.get(tenant_id)
        if kept is not None:
            return kept
        rows = read()
        self.keep(tenant_id, rows)
        return rows
