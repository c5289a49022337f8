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

    def tenants(self) -> list[str]:
        """The tenants a copy is kept of (fresh or not yet found stale)."""
        with self._lock:
            return list(self._kept)

    def read_once(self, tenant_id: str, read: Callable[[], T]) -> T:
        """The copy, read now (and kept) if there is none fresh."""
        kept = self.get(tenant_id)
        if kept is not None:
            return kept
        value = read()
        self.keep(tenant_id, value)
        return value


class Books(Generic[IndexT]):
    """One provider's customer copies, by tenant, each an `index_type` built from the rows read."""

    def __init__(self, index_type: type[IndexT]) -> None:
        self._index_type = index_type
        self._copies: Copies[IndexT] = Copies()
        self._lock = threading.Lock()  # a copy grows (`created`) while other claims read it
        _ALL.add(self)

    def get(self, tenant_id: str) -> IndexT | None:
        """The copy (rows read, then rows created since), or None when there is none still fresh. Shared
        with other claims of this process: read it, never change it (`created` does)."""
        return self._copies.get(tenant_id)

    def held_for(self, tenant_id: str, items: Sequence[SyncItem]) -> IndexT | None:
        """The copy for a claim of a few, when one is held and every item belongs to a historical push (a
        backfill's tail); None when the claim must ask the ledger exactly (live sync)."""
        if not items or not all(item.historical for item in items):
            return None
        return self.get(tenant_id)

    def keep(self, tenant_id: str, rows: list[Row]) -> IndexT:
        """Index the rows just read as the tenant's copy; returns it."""
        index = self._index_type.of(rows)
        self._copies.keep(tenant_id, index)
        return index

    def forget(self, tenant_id: str) -> None:
        """Drop the tenant's copy: the next claim reads again."""
        self._copies.forget(tenant_id)

    def tenants(self) -> list[str]:
        return self._copies.tenants()

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
        index = self.get(tenant_id)
        if index is not None:
            with self._lock:
                for one in made:
                    index.add(one)

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
