"""End to end on any ledger: a CashFlow organisation connected through the ledgers' own views to a tenant of
that ledger's sandbox (the contract suite's harnesses, tests/ledgers/harness.py), mapped from the ledgers'
suggestion, and the worker driven until nothing is due. The books are read through the harness."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from ledgers.conftest import connect_through_views, enable_connector
from ledgers.harness import Harness, RemoteInvoice

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Organisation, Role, TaxRate
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync.worker import RunReport

from .steps import drain, map_from_suggestion


@dataclass
class LedgerWorld:
    harness: Harness
    organisation: Organisation
    tenant_id: str
    connection: Connection
    gst: TaxRate
    customer: Any

    def books(self, number: str) -> RemoteInvoice:
        found = self.harness.invoice(self.tenant_id, number)
        assert found is not None, f"{number} is not in {self.harness.provider}"
        return found

    def drain(self, rounds: int = 12) -> list[RunReport]:
        return drain(self.connection, rounds)


def build_world(harness: Harness) -> LedgerWorld:
    """An AU installer with GST 10% and one customer, connected by an administrator and mapped."""
    organisation = services.create_organisation("Sunny Roofs Pty Ltd", "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )
    user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:12]}", password="x" * 12)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    enable_connector(organisation, user)
    browser = Client()
    browser.force_login(user)
    tenant_id = harness.new_tenant("Sunny Roofs")
    back = connect_through_views(browser, harness, organisation, [tenant_id])
    assert back.status_code in (200, 302), back.content
    connection = Connection.objects.get(organisation=organisation, tenant_id=tenant_id)
    map_from_suggestion(connection, gst)
    return LedgerWorld(harness, organisation, tenant_id, connection, gst, customer)
