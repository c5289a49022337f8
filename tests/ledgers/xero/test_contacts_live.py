"""Xero's customer matching over real HTTP, in a crowded tenant: one paged read of the contacts or filtered
look-ups, whichever costs fewer calls (ledgers/xero/contacts.py; the shared suite covers the basic match)."""

from __future__ import annotations

import pytest

from ledgerlink.ledgers.contract import ObjectKind, SyncItem
from ledgerlink.ledgers.xero import contacts
from ledgerlink.ledgers.xero.contacts import BOOKS as CONTACT_BOOKS

from .. import documents as d
from ..pushing import push

pytestmark = pytest.mark.django_db

CONTACT_READS = {"method": "GET", "path": "/api.xro/2.0/Contacts"}


def _seed_contacts(books, *contacts: dict) -> None:
    """Contacts another app put in the tenant (no ContactNumber unless given), through the Accounting API."""
    answer = books.ledger.client.request(
        "PUT", "/Contacts", params={"summarizeErrors": "false"}, body={"Contacts": list(contacts)}
    )
    assert answer.status == 200 and all(c["StatusAttributeString"] == "OK" for c in answer.body["Contacts"])


def _customers(numbers, **overrides) -> list[SyncItem]:
    return [SyncItem(f"r{n}", ObjectKind.CUSTOMER, d.customer(n, **overrides)) for n in numbers]


@pytest.fixture
def crowded(books):
    """The tenant of `books` plus 44 contacts: 38 carrying customers 100-137's emails (even ones in upper
    case), 138's id on an active contact and 139's on an archived one (both under another email), an active
    "Taken Active", an archived "Taken Archived", and customer 142's email on an archived contact."""
    by_email = [
        {
            "Name": f"Existing {n}",
            "EmailAddress": f"customer{n}@example.com".upper() if n % 2 == 0 else f"customer{n}@example.com",
        }
        for n in range(100, 138)
    ]
    _seed_contacts(
        books,
        *by_email,
        {"Name": "Renamed 138", "EmailAddress": "old138@example.com", "ContactNumber": "cust-138"},
        {"Name": "Gone 139", "ContactNumber": "cust-139", "ContactStatus": "ARCHIVED"},
        {"Name": "Taken Active", "EmailAddress": "someone@example.com"},
        {"Name": "Taken Archived", "ContactStatus": "ARCHIVED"},
        {"Name": "Old 142", "EmailAddress": "customer142@example.com", "ContactStatus": "ARCHIVED"},
    )
    return books


def test_many_customers_are_matched_from_one_paged_read_without_a_duplicate(crowded, harness, xero_sandbox):
    books = crowded
    items = _customers(range(100, 140))  # the 40 the tenant already has
    items += _customers([140], name="Taken Active") + _customers([141], name="Taken Archived")
    items += _customers(range(142, 218)) + _customers([218, 219], name="Sam Lee")  # 120 customers in all
    before = harness.calls(books.tenant, **CONTACT_READS)
    resolution = books.ledger.resolve_customers(items)
    # 120 customers need ~7 filters; 1 page of the tenant's 45 contacts answers them all.
    assert harness.calls(books.tenant, **CONTACT_READS) - before == 1
    contacts = {c["ContactID"]: c for c in xero_sandbox.control.ledger(books.tenant)["Contacts"]}
    matched = {o.record_id: contacts[o.remote.id] for o in resolution.matched}
    assert len(matched) == 40
    assert all(matched[f"r{n}"]["Name"] == f"Existing {n}" for n in range(100, 138))
    assert (matched["r138"]["Name"], matched["r139"]["Name"]) == ("Renamed 138", "Gone 139")
    created = {item.document.id: item.document.name for item in resolution.to_create}
    assert len(created) == 80 and set(created) == {f"cust-{n}" for n in range(140, 220)}
    assert created["cust-140"] == "Taken Active (customer140@example.com)"  # clashes with an active contact
    assert created["cust-141"] == "Taken Archived"  # an archived contact's name is free (xero.md 3)
    assert created["cust-219"] == "Sam Lee (customer219@example.com)"
    outcomes = push(books.ledger, resolution.to_create, books.mapping)
    assert all(o.error is None for o in outcomes) and len(outcomes) == 80
    numbers = [c.get("ContactNumber") for c in xero_sandbox.control.ledger(books.tenant)["Contacts"]]
    assert all(numbers.count(f"cust-{n}") == 1 for n in [1, *range(138, 220)])
    # Nothing left to create, with no further call: the paged read is this process's copy of the tenant's
    # contacts, kept current with the 80 just created.
    again = books.ledger.resolve_customers(items)
    assert (len(again.matched), again.to_create) == (120, ())
    assert harness.calls(books.tenant, **CONTACT_READS) - before == 1
    CONTACT_BOOKS.forget(books.tenant)  # a copy dropped (a refused create) is read again, in one call
    assert len(books.ledger.resolve_customers(items).matched) == 120
    assert harness.calls(books.tenant, **CONTACT_READS) - before == 2


def test_filtered_look_ups_are_used_when_paging_the_tenant_would_cost_more(crowded, harness, monkeypatch):
    books = crowded
    monkeypatch.setattr(contacts, "PAGE_SIZE", 5)  # 45 contacts: 9 pages
    few = _customers(range(130, 140)) + _customers([140], name="Taken Active")
    few += _customers([141], name="Taken Archived") + _customers(range(142, 170))  # 40 customers: 2 filters
    before = harness.calls(books.tenant, **CONTACT_READS)
    resolution = books.ledger.resolve_customers(few)
    # Page 1 tells the cost (8 more pages against 2 filters), then the 2 filters: 3 calls.
    assert harness.calls(books.tenant, **CONTACT_READS) - before == 3
    assert {o.record_id for o in resolution.matched} == {f"r{n}" for n in range(130, 140)}
    created = {item.document.id: item.document.name for item in resolution.to_create}
    assert len(created) == 30 and "r142" not in {o.record_id for o in resolution.matched}
    assert (created["cust-140"], created["cust-141"]) == (
        "Taken Active (customer140@example.com)",
        "Taken Archived",
    )
    monkeypatch.setattr(contacts, "PAGE_SIZE", 20)  # 3 pages: cheaper than the filters of 120 customers
    before = harness.calls(books.tenant, **CONTACT_READS)
    paged = books.ledger.resolve_customers(_customers(range(100, 220)))
    assert harness.calls(books.tenant, **CONTACT_READS) - before == 3
    assert len(paged.matched) == 40 and len(paged.to_create) == 80
