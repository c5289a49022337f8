"""A process's copies of what a tenant's ledger says, read once and kept current from what the engine itself
creates, so a long push's later claims build and match without a call.

`Copies` is one kind of copy by tenant (a company's settings, its items): fresh for `BOOK_FRESH_S` (real
seconds), then read again; dropped at once when the ledger refuses something built from it.

`Books` is the customer list (and whatever else decides a match or a name clash). Every provider keeps its
customers here (one `Books` each, so two ledgers' tenant ids never meet); what a row is and how it is read
stays the provider's. The rules every provider follows:
- only a claim of many customers (a backfill's, where exact look-ups would cost more than one call) reads the
  whole list and keeps it;
- a claim of a few asks the ledger exactly, so a customer someone added there a minute ago is matched by its
  email, never duplicated; unless every item of it belongs to a historical push and a copy is held (a
  backfill's tail: its records were claimed with the many whose matches the copy already answered, so the
  copy is exactly as current for them);
- a copy stands for `BOOK_FRESH_S` (real seconds); after that the next claim reads again;
- a refused customer create drops the copy: someone else changed the tenant, so the next claim reads again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ledgerlink.ledgers.contract import Customer, ItemOutcome, RemoteRef, SyncItem

BOOK_FRESH_S = 600.0

Row = Mapping[str, Any]
T = TypeVar("T")


class Copies(Generic[T]):
    """One kind of copy, by tenant: each stands for `BOOK_FRESH_S` from when it was read."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[T, float]] = {}  # tenant -> (copy, time.monotonic() it was read)
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> T | None:
        """The copy, or None when there is none still fresh."""
        with self._lock:
            kept = self._kept.get(tenant_id)
            if kept is None or time.monotonic() - kept[1] > BOOK_FRESH_S:
                self._kept.pop(tenant_id, None)
                return None
            return kept[0]

    def keep(self, tenant_id: str, value: T) -> None:
        """`value` as just read from the ledger. Stale copies of other tenants go at the same time, so a
        long-lived consumer holds only the tenants it served in the last `BOOK_FRESH_S`."""
        now = time.monotonic()
        with self._lock:
            self._kept = {t: kept for t, kept in self._kept.items() if now - kept[1] <= BOOK_FRESH_S}
            self._kept[tenant_id] = (value, now)

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's copy: the next use reads again."""
        with self._lock:
            self._kept.pop(tenant_id, None)

    def read_once(self, tenant_id: str, read: Callable[[], T]) -> T:
        """The copy, read now (and kept) if there is none fresh."""
        kept = self.get(tenant_id)
        if kept is not None:
            return kept
        value = read()
        self.keep(tenant_id, value)
        return value


@dataclass
class _Book:
    rows: list[Row]
    created: list[Row] = field(default_factory=list)


class Books:
    """One provider's customer copies, by tenant."""

    def __init__(self) -> None:
        self._books: Copies[_Book] = Copies()
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> list[Row] | None:
        """The copy (rows read, then rows created since), or None when there is none still fresh."""
        book = self._books.get(tenant_id)
        return None if book is None else self._rows(book)

    def _rows(self, book: _Book) -> list[Row]:
        with self._lock:
            return [*book.rows, *book.created]

    def held_for(self, tenant_id: str, items: Sequence[SyncItem]) -> list[Row] | None:
        """The copy for a claim of a few, when one is held and every item belongs to a historical push (a
        backfill's tail); None when the claim must ask the ledger exactly (live sync)."""
        if not items or not all(item.historical for item in items):
            return None
        return self.get(tenant_id)

    def keep(self, tenant_id: str, rows: list[Row]) -> None:
        self._books.keep(tenant_id, _Book(rows))

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's copy: the next claim reads again."""
        self._books.forget(tenant_id)

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
        book = self._books.get(tenant_id)
        if book is not None:
            with self._lock:
                book.created.extend(made)

    def read_once(self, tenant_id: str, read: Callable[[], list[Row]]) -> list[Row]:
        """The copy, read now (and kept) if there is none fresh."""
        return self._rows(self._books.read_once(tenant_id, lambda: _Book(read())))
