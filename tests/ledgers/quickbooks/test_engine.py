"""The engine end to end against the QuickBooks sandbox over real HTTP, with no QuickBooks code in the
engine: connect through the ledgers' views, map, issue and pay through CashFlow's services, drain the
worker, and the company's books equal CashFlow's to the cent."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from ledgerlink.billing.services import enable_connector
from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import PaymentAccountMapping, TaxRateMapping
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

from .conftest import connect

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _drain(connection_id: object, rounds: int = 6) -> None:
    for _ in range(rounds):
        sync_connection(connection_id, budget_s=30)
        due = SyncRecord.objects.filter(state__in=(SyncState.PENDING, SyncState.RETRYING))
        if not due.exists():
            return


@time_machine.travel(TODAY, tick=True)
def test_issue_then_pay_and_the_company_books_equal_cashflows_to_the_cent(qbo):
    organisation = services.create_organisation("Sunny Roofs Pty Ltd", "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )
    user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:8]}", password="x" * 12)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    enable_connector(organisation, user, "127.0.0.1", "pytest")
    browser = Client()
    browser.force_login(user)
    connection = connect(browser, qbo, organisation)
    TaxRateMapping.objects.create(
        organisation=organisation,
        provider="quickbooks",
        tax_rate=gst,
        account_id=qbo.sales_code,
        ledger_tax_code=qbo.tax_code,
    )
    PaymentAccountMapping.objects.create(
        organisation=organisation, provider="quickbooks", account_id=qbo.bank_code, is_default=True
    )
    # Per-line GST that CashFlow rounds line by line (333.33 x 10% = 33.333 -> 33.33, three times: 99.99)
    # where QuickBooks rounds once (999.99 x 10% = 100.00): the rounding line keeps the total CashFlow's.
    draft = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer_id=customer.id,
            kind="custom",
            due_date=TODAY.date() + dt.timedelta(days=14),
            tax_inclusive=False,
            lines=[
                services.LineInput("system", f"Panel bank {n}", Decimal(1), Decimal("333.33"), gst.id)
                for n in range(3)
            ],
        ),
    )
    invoice = services.issue_invoice(draft)
    services.record_payment(invoice, Decimal("500.00"), "bank_transfer")
    _drain(connection.pk)

    states = dict(SyncRecord.objects.values_list("kind", "state"))
    assert set(states.values()) == {SyncState.SYNCED}, states
    invoice.refresh_from_db()
    books = qbo.sandbox.control.ledger(connection.tenant_id)
    (remote,) = books["Invoice"]
    assert remote["DocNumber"] == invoice.number
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("1099.98")
    assert Decimal(str(remote["Balance"])) == invoice.amount_due == Decimal("599.98")
    ((customer_row,),) = [[c for c in books["Customer"] if c["DisplayName"] == "Ada Lovelace"]]
    assert remote["CustomerRef"]["value"] == customer_row["Id"]
    (payment,) = books["Payment"]
    assert Decimal(str(payment["TotalAmt"])) == Decimal("500.00")
    assert payment["DepositToAccountRef"]["value"] == qbo.bank_code
    record = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert record.remote_id == remote["Id"] and not record.total_mismatch
