"""Matching rules of ledgers/xero/contacts.py on contacts as Xero lists them (the call counts and the whole
flow are proved over real HTTP in tests/ledgers/test_contract.py)."""

from __future__ import annotations

from ledgerlink.ledgers.xero.contacts import ContactIndex

from .. import documents as d


def _contact(contact_id: str, name: str, email: str = "", number: str = "", status: str = "ACTIVE") -> dict:
    return {
        "ContactID": contact_id,
        "Name": name,
        "EmailAddress": email,
        "ContactNumber": number,
        "ContactStatus": status,
    }


def test_of_several_contacts_with_the_email_the_one_carrying_our_number_wins():
    index = ContactIndex.of(
        [
            _contact("a", "Jo Smith", "JO@example.com"),
            _contact("b", "Jo Smith 2", "jo@example.com", number="cust-7"),
        ]
    )
    assert index.match(d.customer(7, email="jo@example.com"))["ContactID"] == "b"
    assert index.match(d.customer(8, email="Jo@Example.com"))["ContactID"] == "a"  # else Xero's first


def test_email_matches_only_active_contacts_and_our_number_matches_any():
    index = ContactIndex.of(
        [
            _contact("old", "Old Jo", "jo@example.com", status="ARCHIVED"),
            _contact("ours", "Renamed", "new@example.com", number="CUST-9", status="ARCHIVED"),
        ]
    )
    assert index.match(d.customer(8, email="jo@example.com")) is None
    assert index.match(d.customer(9, email="x@example.com"))["ContactID"] == "ours"  # case-insensitive
    assert index.active_names == frozenset()  # archived names are free to take


def test_email_comes_before_our_number():
    index = ContactIndex.of(
        [_contact("by-number", "A", "a@example.com", number="cust-3"), _contact("by-email", "B", "c3@x.io")]
    )
    assert index.match(d.customer(3, email="C3@x.io"))["ContactID"] == "by-email"
