"""End-to-end harness: a CashFlow organisation connected to a tenant of the real Xero sandbox through the
ledgers' own connect views (OAuth with state and PKCE, instant chart load), mapped from the ledgers'
suggestion, and a way to drive the worker until nothing is due."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from ledgerlink.billing.services import enable_connector
from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Organisation, Role, TaxRate
from ledgerlink.devtools.sandboxes import RunningSandbox, SandboxApp
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync.worker import RunReport

from .steps import drain, map_from_suggestion

__all__ = ["XeroWorld", "build_world", "connect_through_views", "map_from_suggestion"]

CALLBACK = "/connections/xero/callback/"


@dataclass
class XeroWorld:
    """One organisation, its Xero tenant in the sandbox, and the connection between them."""

    sandbox: RunningSandbox
    app: SandboxApp
    organisation: Organisation
    tenant_id: str
    connection: Connection
    gst: TaxRate
    customer: Any

    @property
    def control(self):  # type: ignore[no-untyped-def]
        return self.sandbox.control

    def ledger(self) -> dict[str, Any]:
        return self.control.ledger(self.tenant_id)

    def ledger_chart(self):  # type: ignore[no-untyped-def]
        return chart_for(self.connection)

    def invoices(self, status: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.ledger()["Invoices"] if status is None or i["Status"] == status]

    def by_number(self) -> dict[str, dict[str, Any]]:
        """The tenant's sales invoices by number; a duplicate number fails here (dict would hide it)."""
        invoices = [i for i in self.invoices() if i.get("Type") == "ACCREC"]
        numbers = [i["InvoiceNumber"] for i in invoices]
        assert len(numbers) == len(set(numbers)), f"duplicate invoices in Xero: {sorted(numbers)}"
        return {i["InvoiceNumber"]: i for i in invoices}

    def writes(self, path: str, method: str = "PUT") -> list[dict[str, Any]]:
        return [r for r in self.control.requests(self.tenant_id, method=method, path=path)]

    def drain(self, rounds: int = 12) -> list[RunReport]:
        return drain(self.connection, rounds)


def configure(settings, sandbox: RunningSandbox, tier: str = "") -> SandboxApp:  # type: ignore[no-untyped-def]
    """Point LedgerLink's Xero settings at the sandbox, with a fresh OAuth app (of `tier`)."""
    app = sandbox.control.create_app([f"{settings.PUBLIC_URL}{CALLBACK}"], tier=tier)
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = sandbox.base_url
    settings.XERO_AUTHORIZE_URL = f"{sandbox.base_url}/identity/connect/authorize"
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    return app


def an_admin(organisation):  # type: ignore[no-untyped-def]
    """A user who administers the organisation (signing up hashes a password: a second's CPU, not sync's)."""
    user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:12]}", password="x" * 12)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    return user


def connect_through_views(
    client: Client,
    sandbox: RunningSandbox,
    app: SandboxApp,
    organisation,
    tenant_id: str,
    provider="xero",
    admin=None,
):
    """An administrator (`admin`, or one made now) enables the connector, presses Connect, consents in
    "Xero" (or QuickBooks, whose redirect also names the company chosen), comes back."""
    user = admin or an_admin(organisation)
    enable_connector(organisation, user, "127.0.0.1", "pytest")
    client.force_login(user)
    start = client.post(f"/connections/{provider}/connect/", {"organisation": str(organisation.pk)})
    assert start.status_code == 302, start.content
    code, state = sandbox.control.consent_to(start["Location"], [tenant_id])
    answer = {"code": code, "state": state}
    if provider == "quickbooks":
        answer["realmId"] = tenant_id
    back = client.get(f"/connections/{provider}/callback/", answer)
    assert back.status_code in (200, 302), back.content
    return Connection.objects.get(organisation=organisation, tenant_id=tenant_id)


def build_world(
    settings,
    sandbox: RunningSandbox,
    *,
    mapped: bool = True,
    limits=None,
    before_connect=None,
    tenant_settings=None,
    region: str = "AU",
    country: str = "AU",
) -> XeroWorld:  # type: ignore[no-untyped-def]
    """`before_connect(organisation, gst, customer)` runs before the connection exists (history)."""
    app = configure(settings, sandbox)
    organisation = services.create_organisation("Sunny Roofs Pty Ltd", country)
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )
    if before_connect is not None:
        before_connect(organisation, gst, customer)
    tenant_id = sandbox.control.create_tenant(region, "Sunny Roofs", limits=limits, settings=tenant_settings)
    connection = connect_through_views(Client(), sandbox, app, organisation, tenant_id)
    if mapped:
        map_from_suggestion(connection, gst)
    return XeroWorld(sandbox, app, organisation, tenant_id, connection, gst, customer)
