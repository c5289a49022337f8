"""Fixtures for the sync engine's tests: an organisation with a mapped Xero connection, helpers to issue
invoices through cashflow's services, and a runner that drives the worker synchronously."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection as db
from django.utils import timezone

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice, Organisation, TaxRate
from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping
from ledgerlink.sync import doorbell
from ledgerlink.sync.session import LedgerSession
from ledgerlink.sync.worker import RunReport, sync_connection

from .fakes import FakeLedger


@pytest.fixture(autouse=True)
def doorbells(monkeypatch) -> list:
    """Record doorbells instead of enqueueing them: tests drive the worker themselves."""
    rung: list = []
    monkeypatch.setattr(
        doorbell, "ring", lambda connection_id, delay_s=None: rung.append((connection_id, delay_s))
    )
    return rung


@pytest.fixture
def organisation(db) -> Organisation:
    return services.create_organisation("Sunny Roofs Pty Ltd", "AU", accounting_email="books@sunny.example")


@pytest.fixture
def gst(organisation) -> TaxRate:
    return services.create_tax_rate(organisation, "GST 10%", Decimal("10"))


@pytest.fixture
def customer(organisation):
    return services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )


def connect(organisation: Organisation, tenant_id: str = "tenant-1", **fields) -> Connection:
    return Connection.objects.create(
        organisation=organisation, provider="xero", tenant_id=tenant_id, tenant_name="Sunny (Xero)", **fields
    )


def map_gst(organisation: Organisation, tax_rate: TaxRate) -> None:
    TaxRateMapping.objects.create(
        organisation=organisation,
        provider="xero",
        tax_rate=tax_rate,
        account_id="acc-200",
        account_code="200",
        ledger_tax_code="OUTPUT",
    )


def map_payments(organisation: Organisation) -> None:
    PaymentAccountMapping.objects.create(
        organisation=organisation, provider="xero", account_id="acc-090", account_code="090", is_default=True
    )


@pytest.fixture
def connection(organisation, gst) -> Connection:
    connection = connect(organisation)
    map_gst(organisation, gst)
    map_payments(organisation)
    return connection


@pytest.fixture
def world(db, settings, xero_sandbox):
    """An organisation connected to its own tenant of the session's Xero sandbox, mapped (xero_world.py);
    any fault a test switches on is cleared after it."""
    from .xero_world import build_world

    yield build_world(settings, xero_sandbox)
    xero_sandbox.control.clear_faults()


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


#: The fake ledger's chart: what the fixtures map to exists and is usable.
CHART = Chart(
    accounts=(
        LedgerAccount(
            "acc-200", "200", "Sales", "REVENUE", "ACTIVE", is_revenue=True, accepts_payments=False
        ),
        LedgerAccount("acc-090", "090", "Bank", "BANK", "ACTIVE", is_revenue=False, accepts_payments=True),
    ),
    tax_rates=(LedgerTaxRate("OUTPUT", "GST on Income", Decimal("10"), "ACTIVE", applies_to_revenue=True),),
)


def run(connection: Connection, ledger: FakeLedger, **kwargs) -> RunReport:
    """One worker run against the fake ledger, with the mapping as stored now."""
    connection.refresh_from_db()
    mapping = resolve_mapping(connection.organisation, connection.provider)
    session = LedgerSession(connection, ledger, mapping, chart=CHART)
    return sync_connection(connection.pk, session=session, **kwargs)


def issue(
    organisation: Organisation,
    customer,
    tax_rate: TaxRate,
    amount: str = "1100.00",
    *,
    issue_date: dt.date | None = None,
    reference: str = "",
    quantity: str = "1",
) -> Invoice:
    """A tax-inclusive one-line invoice, issued (emits invoice.issued); `amount` is the unit amount (up to
    four places: priced by the watt) of `quantity` units."""
    draft = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer_id=customer.id,
            kind="custom",
            due_date=(issue_date or timezone.localdate()) + dt.timedelta(days=14),
            tax_inclusive=True,
            issue_date=issue_date,
            reference=reference,
            lines=[
                services.LineInput("service", "Panel clean", Decimal(quantity), Decimal(amount), tax_rate.id)
            ],
        ),
    )
    return services.issue_invoice(draft)


def needs_real_concurrency() -> None:
    """Threads racing on the database: PostgreSQL only. pytest-django's SQLite test database is in-memory
    with a shared cache, which answers "table is locked" at once instead of waiting like the embedded file
    database (WAL, IMMEDIATE transactions, busy timeout) does."""
    if db.vendor != "postgresql":
        pytest.skip("racing threads need a database that waits on locks (the PostgreSQL pass)")


def in_threads(target, args: list) -> None:  # type: ignore[no-untyped-def]
    """Run target(arg) in one thread per arg, each on its own connection; re-raise the first failure."""
    failures: list[BaseException] = []

    def body(arg) -> None:  # type: ignore[no-untyped-def]
        try:
            target(arg)
        except BaseException as error:  # collected and raised in the test's thread
            failures.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=body, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
