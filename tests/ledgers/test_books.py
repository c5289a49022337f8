"""A process's copy of a tenant's customers (ledgers/books.py): indexed once, added to as the engine creates
customers, shared by the claims rather than rebuilt or copied for each, and dropped on a refusal or when the
engine releases the tenant."""

from __future__ import annotations

from ledgerlink.ledgers.books import Books, Index, Row, release
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
