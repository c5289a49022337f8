"""Fixtures for the QuickBooks connector tests: one harness per test, a company connected through the real
views, and `push`, which does for one round what the engine does (build, send with a key, read)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.contract import ItemOutcome, ObjectKind, ResolvedMapping, SyncItem
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.registry import open_ledger
from ledgerlink.ledgers.tokens import ensure_fresh_token

from .. import documents as d
from ..conftest import connect_through_views
from .harness import QuickBooksHarness

_keys = itertools.count(1)


@pytest.fixture
def qbo(quickbooks_sandbox, settings) -> QuickBooksHarness:
    harness = QuickBooksHarness(quickbooks_sandbox)
    harness.configure(settings)
    return harness


def connect(client: Any, harness: QuickBooksHarness, organisation: Any, **company: Any) -> Connection:
    realm = harness.new_tenant(**company)
    response = connect_through_views(client, harness, organisation, [realm])
    assert response.status_code == 200, response.content
    return Connection.objects.get(organisation=organisation, tenant_id=realm)


def push(ledger: Any, items: list[SyncItem], mapping: ResolvedMapping, key: str = "") -> list[ItemOutcome]:
    """One engine round: each request sent under a key (batch requestids are at most 36 characters)."""
    outcomes: list[ItemOutcome] = []
    for request in ledger.build(items, mapping):
        outcomes += ledger.read(ledger.send(request, key or f"t-{next(_keys)}-{request.step}"), request)
    return outcomes


@dataclass
class Company:
    harness: QuickBooksHarness
    connection: Connection
    ledger: Any
    mapping: ResolvedMapping
    realm: str
    customer_id: str

    def invoice_item(self, number: str, **kwargs: Any) -> SyncItem:
        return SyncItem(
            f"rec-{number}", ObjectKind.INVOICE, d.invoice(number, **kwargs), {"contact": self.customer_id}
        )

    def documents(self, entity: str) -> list[dict[str, Any]]:
        return self.harness.remote_documents(self.realm, entity)


def company_for(harness: QuickBooksHarness, connection: Connection) -> Company:
    ledger = open_ledger(ensure_fresh_token(connection.pk))
    mapping = harness.mapping(chart_for(connection))
    (outcome,) = push(ledger, [SyncItem("cust", ObjectKind.CUSTOMER, d.customer(1))], mapping)
    assert outcome.error is None, outcome.error
    return Company(harness, connection, ledger, mapping, connection.tenant_id, outcome.remote.id)


@pytest.fixture
def au(admin, client, qbo) -> Company:
    """An AU company (GST codes, custom numbers on) connected through the views, with customer 1 in it."""
    return company_for(qbo, connect(client, qbo, admin[1]))


def direct_ledger(harness: QuickBooksHarness, region: str, **settings: Any) -> Any:
    """A ledger on a fresh company without the views (for companies the shared fixtures do not make):
    consent, the real code exchange, then the ledger on the realm."""
    from ledgerlink.ledgers.oauth import redirect_uri
    from ledgerlink.ledgers.quickbooks.client import QuickBooksClient
    from ledgerlink.ledgers.quickbooks.ledger import QuickBooksLedger
    from ledgerlink.ledgers.quickbooks.oauth import SCOPES, QuickBooksOAuth

    realm = harness.new_tenant(f"{region} Solar", region=region, settings=settings or None)
    code = harness.sandbox.control.consent(
        harness.client_id, [realm], " ".join(SCOPES), redirect_uri("quickbooks")
    )
    tokens = QuickBooksOAuth("direct").exchange_code(code, "", redirect_uri("quickbooks"))
    return QuickBooksLedger(
        QuickBooksClient(access_token=tokens.access_token, realm_id=realm, organisation_id="direct")
    )
