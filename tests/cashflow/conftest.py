"""Fixtures for the cashflow tests: an organisation with tax rates, a customer, and an API client."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.cashflow import apikeys, events, services
from ledgerlink.cashflow.models import Organisation, TaxRate

from .helpers import ApiClient


@pytest.fixture
def organisation(db) -> Organisation:
    return services.create_organisation("Sunny Roofs Pty Ltd", "AU", accounting_email="books@sunny.example")


@pytest.fixture
def gst(organisation) -> TaxRate:
    return services.create_tax_rate(organisation, "GST 10%", Decimal("10"))


@pytest.fixture
def gst_free(organisation) -> TaxRate:
    return services.create_tax_rate(organisation, "GST Free", Decimal("0"))


@pytest.fixture
def customer(organisation):
    return services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )


@pytest.fixture
def api_client(client, organisation) -> ApiClient:
    _, key = apikeys.create_api_key(organisation)
    return ApiClient(client, key)


@pytest.fixture
def other_api_client(client, db) -> ApiClient:
    other = services.create_organisation("Other Solar Inc", "US")
    _, key = apikeys.create_api_key(other)
    return ApiClient(client, key)


@pytest.fixture(autouse=True)
def only_cashflow_handlers():
    """Run cashflow's tests without other apps' event handlers (sync registers one at startup): these tests
    prove cashflow's side of the contract; the consumers test theirs with the handlers on."""
    saved = list(events._handlers)
    events._handlers.clear()
    yield
    events._handlers[:] = saved
