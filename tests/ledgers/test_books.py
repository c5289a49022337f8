"""A process's copies of a tenant's ledger (ledgers/books.py): read once while fresh, read again after, never
held for tenants long gone; the customer copy indexed once, added to as the engine creates customers, shared
by the claims rather than rebuilt or copied for each, dropped on a refusal or when the engine releases the
tenant, and answering a backfill's claims of a few only."""

from __future__ import annotations

import pytest

from ledgerlink.ledgers import books
from ledgerlink.ledgers.books import BOOK_FRESH_S, Books, Copies, Index, Row, release
from ledgerlink.ledgers.contract import Customer, ItemOutcome, ObjectKind, RemoteRef, SyncItem
from ledgerlink.ledgers.errors import NeedsAttention

from . import documents as d


class Names(Index):
    """A minimal index: the names seen."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, row: Row) -> None:
        self.names.append(str(row["Name"]))


def _row(customer: Customer, remote: RemoteRef) -> Row:
    return {"Name": customer.name, "Id": remote.id}


def _created(books: Books[Names], tenant: str, *numbers: int, refused: bool = False) -> None:
    items = [SyncItem(f"r{n}", ObjectKind.CUSTOMER, d.customer(n)) for n in numbers]
    outcomes = [
        ItemOutcome(record_id=item.record_id, error=NeedsAttention("The name is taken."))
        if refused
        else ItemOutcome(
            record_id=item.record_id, remote=RemoteRef(ObjectKind.CUSTOMER, f"id-{item.record_id}")
        )
        for item in items
    ]
    books.created(tenant, items, outcomes, _row)


def test_customers_created_are_added_to_the_one_index_each_claim_reads():
    books: Books[Names] = Books(Names)
    reads: list[str] = []
    kept = books.read_once("t1", lambda: reads.append("t1") or [{"Name": "Existing"}])
    _created(books, "t1", 1, 2)
    again = books.read_once("t1", lambda: reads.append("t1") or [])
    assert again is kept and reads == ["t1"]  # read once, never copied nor re-indexed
    assert again.names == ["Existing", d.customer(1).name, d.customer(2).name]


def test_a_refused_create_drops_the_copy_and_release_drops_every_providers():
    xero: Books[Names] = Books(Names)
    quickbooks: Books[Names] = Books(Names)
    xero.keep("t1", [])
    xero.keep("t2", [])
    quickbooks.keep("realm", [])
    _created(xero, "t1", 3, refused=True)
    assert xero.tenants() == ["t2"]
    release("t2")
    release("realm")
    assert (xero.tenants(), quickbooks.tenants()) == ([], [])
    _created(xero, "t2", 4)  # a create after the release keeps nothing
    assert xero.get("t2") is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(books, "time", fake)
    return fake


def test_a_copy_is_read_once_while_fresh_and_again_after(clock):
    copies: Copies[int] = Copies()
    reads: list[str] = []

    def read() -> int:
        reads.append("read")
        return len(reads)

    assert copies.read_once("t", read) == copies.read_once("t", read) == 1
    clock.now += BOOK_FRESH_S
    assert copies.read_once("t", read) == 1  # still fresh at the limit
    clock.now += 1
    assert copies.read_once("t", read) == 2
    copies.forget("t")
    assert copies.get("t") is None and copies.read_once("t", read) == 3


def test_keeping_a_copy_lets_stale_copies_of_other_tenants_go(clock):
    copies: Copies[str] = Copies()
    copies.keep("gone", "old")
    clock.now += BOOK_FRESH_S + 1
    copies.keep("here", "new")
    assert list(copies._kept) == ["here"]


def _customer(record_id: str, historical: bool) -> SyncItem:
    return SyncItem(record_id, ObjectKind.CUSTOMER, d.customer(1), historical=historical)


def test_the_customer_copy_answers_a_claim_of_a_few_only_when_every_record_is_a_backfills(clock):
    customers: Books[Names] = Books(Names)
    backfill = [_customer("a", True), _customer("b", True)]
    assert customers.held_for("t", backfill) is None  # none held: the claim asks the ledger
    kept = customers.keep("t", [{"Name": "Existing"}])
    assert customers.held_for("t", backfill) is kept
    assert customers.held_for("t", [*backfill, _customer("live", False)]) is None
    assert customers.held_for("t", []) is None
    clock.now += BOOK_FRESH_S + 1
    assert customers.held_for("t", backfill) is None
