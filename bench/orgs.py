"""Many organisations, each connected to its own tenant of one Xero sandbox and mapped, made fast enough for
a thousand: the organisations, tax rates, customers and subscriptions through cashflow's and billing's own
services; one consent granting every tenant, exchanged for tokens by the product's own OAuth client (a user
who authorises many organisations at once gets one grant that reaches them all); then the connections, chart
copies and mappings bulk-created as the connect view and the mapping screen would have written them. Only the
set-up is shortcut: every ledger call the sync makes afterwards is real HTTP to the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bench.dataset import customer_input
from ledgerlink.billing.services import enable_connector
from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Customer, Membership, Organisation, Role, TaxRate
from ledgerlink.devtools.sandboxes import RunningSandbox
from ledgerlink.ledgers.charts import chart_for, refresh_chart
from ledgerlink.ledgers.models import (
    ChartSnapshot,
    Connection,
    ConnectionStatus,
    PaymentAccountMapping,
    TaxRateMapping,
)
from ledgerlink.ledgers.oauth import pkce_pair, redirect_uri
from ledgerlink.ledgers.registry import oauth_for
from ledgerlink.ledgers.suggest import propose
from ledgerlink.ledgers.xero.oauth import SCOPES
from tests.sync.xero_world import configure

CHUNK = 100  # organisations per transaction


@dataclass(frozen=True)
class Org:
    organisation: Organisation
    gst: TaxRate
    customers: list[Customer]
    tenant_id: str


def _chunks(count: int) -> Iterator[range]:
    for start in range(0, count, CHUNK):
        yield range(start, min(start + CHUNK, count))


def _make_orgs(prefix: str, count: int, customers: int) -> list[Org]:
    """Organisations with a GST rate, `customers` customers and the connector enabled by an administrator."""
    admin = get_user_model().objects.create_user(
        f"{prefix.lower().replace(' ', '-')}-admin", password="x" * 12
    )
    made: list[Org] = []
    for numbers in _chunks(count):
        with transaction.atomic():
            for n in numbers:
                organisation = services.create_organisation(f"{prefix} {n:04}", "AU")
                gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
                people = [services.create_customer(organisation, customer_input(c)) for c in range(customers)]
                Membership.objects.create(user=admin, organisation=organisation, role=Role.ADMIN)
                enable_connector(organisation, admin, "127.0.0.1", "bench")
                made.append(Org(organisation, gst, people, ""))
    return made


def connected_orgs(
    settings: Any, sandbox: RunningSandbox, count: int, customers: int, prefix: str = "Bench Org"
) -> list[Org]:
    """`count` organisations, each connected to a fresh AU tenant of `sandbox` and mapped as suggested."""
    app = configure(settings, sandbox, tier="enterprise")  # the default tier caps an app at 50 organisations
    tenant_ids = [sandbox.control.create_tenant("AU", f"{prefix} {n:04}") for n in range(count)]
    orgs = [
        Org(made.organisation, made.gst, made.customers, tenant_id)
        for made, tenant_id in zip(_make_orgs(prefix, count, customers), tenant_ids, strict=True)
    ]
    verifier, challenge = pkce_pair()
    callback = redirect_uri("xero")
    code = sandbox.control.consent(
        app.client_id, tenant_ids, " ".join(SCOPES), redirect_uri=callback, code_challenge=challenge
    )
    oauth = oauth_for("xero")
    tokens = oauth.exchange_code(code, verifier, callback)
    granted = {tenant.id: tenant for tenant in oauth.tenants(tokens.access_token)}
    now = timezone.now()
    connections = Connection.objects.bulk_create(
        Connection(
            organisation=org.organisation,
            provider="xero",
            status=ConnectionStatus.ACTIVE,
            tenant_id=org.tenant_id,
            tenant_name=granted[org.tenant_id].name,
            remote_connection_id=granted[org.tenant_id].connection_id,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=tokens.expires_at,
            refresh_token_issued_at=now,
            scopes=tokens.scope,
            connected_at=now,
        )
        for org in orgs
    )
    _map_all(orgs, connections)
    return orgs


def _map_all(orgs: list[Org], connections: list[Connection]) -> None:
    """The first tenant's chart loaded for real, copied to the others (every tenant starts from the same
    default chart, and invoice lines name accounts by code); each organisation mapped as suggested."""
    first = refresh_chart(connections[0])
    ChartSnapshot.objects.bulk_create(
        ChartSnapshot(
            connection=connection,
            accounts=first.accounts,
            tax_rates=first.tax_rates,
            tracking=first.tracking,
            currencies=first.currencies,
        )
        for connection in connections[1:]
    )
    chart = chart_for(connections[0])
    assert chart is not None
    proposal = propose(chart, [(str(orgs[0].gst.pk), orgs[0].gst.rate)])
    account, tax, payment = proposal.tax_rates[0].account, proposal.tax_rates[0].tax, proposal.payment_account
    assert account and tax and payment
    TaxRateMapping.objects.bulk_create(
        TaxRateMapping(
            organisation=org.organisation,
            provider="xero",
            tax_rate=org.gst,
            account_id=account.id,
            account_code=account.code,
            ledger_tax_code=tax.code,
        )
        for org in orgs
    )
    PaymentAccountMapping.objects.bulk_create(
        PaymentAccountMapping(
            organisation=org.organisation,
            provider="xero",
            account_id=payment.id,
            account_code=payment.code,
            is_default=True,
        )
        for org in orgs
    )


def draft_body(customer_id: object, tax_rate_id: object, n: int) -> services.InvoiceInput:
    """One tax-inclusive service invoice due in a fortnight."""
    line = services.LineInput(
        "service", f"Service {n}", Decimal(1), Decimal(200 + n) + Decimal("0.50"), tax_rate_id
    )
    return services.InvoiceInput(
        customer_id=customer_id,  # type: ignore[arg-type]
        kind="custom",
        due_date=dt.date.today() + dt.timedelta(days=14),
        tax_inclusive=True,
        lines=[line],
    )
