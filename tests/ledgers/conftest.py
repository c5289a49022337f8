"""Fixtures for the ledger tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from django.urls import reverse
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from ledgerlink.ledgers.http import json_bytes

from .harness import HARNESSES

REPO = Path(__file__).resolve().parents[2]
XERO_SPEC = REPO.parent / "shared" / "specs" / "xero_accounting.yaml"
XERO_SERVER = "https://api.xero.com/api.xro/2.0"


class XeroSpec:
    """Validates requests against Xero's OpenAPI spec (the spec file itself fails strict validation, so the
    spec check is off; request validation is on)."""

    def __init__(self) -> None:
        self.api = OpenAPI.from_file_path(str(XERO_SPEC), config=Config(spec_validator_cls=None))

    def validate(self, method: str, path: str, body: object, params: dict[str, str] | None = None) -> None:
        request = requests.Request(
            method,
            f"{XERO_SERVER}{path}",
            params=params or {},
            data=json_bytes(body),
            headers={"xero-tenant-id": "tenant", "Content-Type": "application/json", "Idempotency-Key": "k"},
        ).prepare()
        self.api.validate_request(RequestsOpenAPIRequest(request))


@pytest.fixture(scope="session")
def xero_spec() -> XeroSpec:
    if not XERO_SPEC.exists():
        pytest.fail(f"Xero's OpenAPI spec is missing at {XERO_SPEC}")
    return XeroSpec()


# --- The shared contract suite: one harness per provider, real HTTP to its sandbox ----------------------


@pytest.fixture(params=sorted(HARNESSES))
def harness(request, settings):
    harness = HARNESSES[request.param](request)
    harness.configure(settings)
    return harness


@pytest.fixture
def admin(db, client):
    """A signed-in administrator of a fresh organisation: (user, organisation)."""
    from django.contrib.auth import get_user_model

    from ledgerlink.cashflow.models import Membership, Organisation, Role

    user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:8]}", password="pw-123456")
    organisation = Organisation.objects.create(
        name="Sunny Installs", country="AU", home_currency="AUD", time_zone="Australia/Sydney"
    )
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    enable_connector(organisation, user)
    client.force_login(user)
    return user, organisation


def enable_connector(organisation, user):
    """Billing refuses connects until an admin accepts the pricing terms (its connect_requested receiver)."""
    from ledgerlink.billing.services import enable_connector as accept_terms

    accept_terms(organisation, user, "127.0.0.1", "pytest")


def connect_through_views(client, harness, organisation, tenant_ids):
    """Drive the real connect and callback views; returns the callback's response."""
    started = client.post(
        reverse("ledgers:connect", args=[harness.provider]), {"organisation": organisation.pk}
    )
    assert started.status_code == 302, started.content
    answer = harness.consent(started["Location"], tenant_ids)
    return client.get(reverse("ledgers:callback", args=[harness.provider]), answer)


@pytest.fixture
def connected(admin, client, harness):
    """An organisation connected to one fresh tenant through the real views: (connection, tenant_id)."""
    from ledgerlink.ledgers.models import Connection

    tenant = harness.new_tenant()
    response = connect_through_views(client, harness, admin[1], [tenant])
    assert response.status_code == 200, response.content
    return Connection.objects.get(organisation=admin[1], tenant_id=tenant), tenant


@pytest.fixture
def books(connected, harness):
    """A connected ledger, its mapping for the sandbox's chart, and a customer already in it."""
    from ledgerlink.ledgers.charts import chart_for
    from ledgerlink.ledgers.contract import ObjectKind, SyncItem
    from ledgerlink.ledgers.registry import open_ledger
    from ledgerlink.ledgers.tokens import ensure_fresh_token

    from . import documents as d
    from .pushing import Books, push

    connection, tenant = connected
    ledger = open_ledger(ensure_fresh_token(connection.pk))
    mapping = harness.mapping(chart_for(connection))
    (outcome,) = push(ledger, [SyncItem("cust", ObjectKind.CUSTOMER, d.customer(1))], mapping)
    return Books(connection, ledger, mapping, tenant, outcome.remote.id)
