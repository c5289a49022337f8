"""A process's copies of a tenant's ledger (ledgers/books.py): read once while fresh, read again after, never
held for tenants long gone, and the customer copy answering a backfill's claims only."""

from __future__ import annotations

import pytest

from ledgerlink.ledgers import books
from ledgerlink.ledgers.books import BOOK_FRESH_S, Books, Copies
from ledgerlink.ledgers.contract import ObjectKind, SyncItem

from . import documents as d


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
    customers = Books()
    backfill = [_customer("a", True), _customer("b", True)]
    assert customers.held_for("t", backfill) is None  # none held: the claim asks the ledger
    customers.keep("t", [{"Id": "1"}])
    assert customers.held_for("t", backfill) == [{"Id": "1"}]
    assert customers.held_for("t", [*backfill, _customer("live", False)]) is None
    assert customers.held_for("t", []) is None
    clock.now += BOOK_FRESH_S + 1
    assert customers.held_for("t", backfill) is None
