"""A process's copy of one tenant's customer list (and whatever else decides a match or a name clash), read
once per backfill and kept current from what the engine itself creates, so a long push's later claims match
without a call. Every provider keeps its copies here (one `Books` each, so two ledgers' tenant ids never
meet); what a row is and how it is read stays the provider's.

The rules every provider follows:
- only a claim of many customers (a backfill's, where exact look-ups would cost more than one call) reads the
  whole list and keeps it; a claim of a few (live sync) always asks the ledger exactly, so a customer someone
  added there a minute ago is matched by its email, never duplicated;
- a copy stands for `BOOK_FRESH_S` (real seconds); after that the next claim reads again;
- a refused customer create drops the copy: someone else changed the tenant, so the next claim reads again;
- the copy is an index the provider builds once from the rows read (`Index`) and adds each customer the
  engine creates to, never the rows themselves: a claim looks up in it as it stands, so a long push's claims
  cost the same at its 60,000th customer as at its first (re-indexing every row per claim made a 100,000
  invoice backfill's CPU per invoice grow with its size), and it holds only what a match reads;
- the engine drops a tenant's copies once a run finds nothing left to sync (`release`), so a finished
  backfill's copy does not stay in a long-lived worker until some later claim finds it stale."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from ledgerlink.ledgers.contract import Customer, ItemOutcome, RemoteRef, SyncItem

BOOK_FRESH_S = 600.0

Row = Mapping[str, Any]


class Index:
    """What a provider keeps of a tenant's rows: built once from the rows read (`of`), then kept current
    with each row the engine creates (`add`)."""

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Self:
        index = cls()
        for row in rows:
            index.add(row)
        return index

    def add(self, row: Row) -> None:
        """One more row, after those already indexed (the ledger's order)."""
        raise NotImplementedError


IndexT = TypeVar("IndexT", bound=Index)

_ALL: weakref.WeakSet[Books[Any]] = weakref.WeakSet()  # every provider's copies, for `release`


@dataclass
class _Book(Generic[IndexT]):
    index: IndexT
    read_at: float  # time.monotonic()


class Books(Generic[IndexT]):
    """One provider's copies, by tenant, each an `index_type` built from the rows read."""

    def __init__(self, index_type: type[IndexT]) -> None:
        self._index_type = index_type
        self._books: dict[str, _Book[IndexT]] = {}
        self._lock = threading.Lock()
        _ALL.add(self)

    def get(self, tenant_id: str) -> IndexT | None:
        """The copy (rows read, then rows created since), or None when there is none still fresh. Shared
        with other claims of this process: read it, never change it (`created` does)."""
        with self._lock:
            book = self._books.get(tenant_id)
            if book is None or time.monotonic() - book.read_at > BOOK_FRESH_S:
                self._books.pop(tenant_id, None)
                return None
            return book.index

    def keep(self, tenant_id: str, rows: list[Row]) -> IndexT:
        """Index the rows just read as the tenant's copy; returns it."""
        index = self._index_type.of(rows)
        with self._lock:
            self._books[tenant_id] = _Book(index, time.monotonic())
        return index

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's copy: the next claim reads again."""
        with self._lock:
            self._books.pop(tenant_id, None)

    def tenants(self) -> list[str]:
        """The tenants a copy is kept of (fresh or not yet found stale)."""
        with self._lock:
            return list(self._books)

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
                for one in made:
                    book.index.add(one)

    def read_once(self, tenant_id: str, read: Callable[[], list[Row]]) -> IndexT:
        """The copy, read now (and kept) if there is none fresh."""
        kept = self.get(tenant_id)
        if kept is not None:
            return kept
        return self.keep(tenant_id, read())


def release(tenant_id: str) -> None:
    """Drop every provider's copy of this tenant (a tenant id is one provider's, so at most one is kept)."""
    for books in list(_ALL):
        books.forget(tenant_id)
