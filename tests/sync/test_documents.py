"""Loading CashFlow rows as documents (sync/documents.py): read by id, scoped to the organisation."""

from __future__ import annotations

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync.documents import load_documents


def test_only_the_organisations_own_rows_are_loaded(organisation, customer):
    other = services.create_organisation("Someone Else", "AU")
    theirs = services.create_customer(other, services.CustomerInput(name="Not Ours", email="x@example.com"))
    loaded = load_documents(ObjectKind.CUSTOMER, organisation.pk, [str(customer.id), str(theirs.id)])
    assert list(loaded) == [str(customer.id)]
    assert loaded[str(customer.id)].name == customer.name
    as_text = load_documents(ObjectKind.CUSTOMER, str(organisation.pk), [str(customer.id)])  # the id as text
    assert list(as_text) == [str(customer.id)]
