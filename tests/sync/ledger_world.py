"""End to end on any ledger: a CashFlow organisation connected through the ledgers' own views to a company
of that ledger's sandbox (the contract suite's harnesses, tests/ledgers/harness.py), mapped from the
ledgers' suggestion, and the worker driven until nothing is due. The books are read through the harness.

`COMPANIES` names the kinds of company the engine must keep in step: Xero's AU organisation, QuickBooks'
AU company with GST codes, its US company with automated sales tax, its Canadian company that has no 0%
tax code, and Tally (the test-only ledger). Time is frozen at `TODAY` and moved on, never slept through:
a backoff or a rate-limit pause is passed by shifting the clock to it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from ledgers.conftest import connect_through_views, enable_connector
from ledgers.harness import HARNESSES, Harness, RemoteInvoice

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice, Membership, Organisation, Role, TaxRate
from ledgerlink.ledgers.models import Connection
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.worker import RunReport, sync_connection

from .steps import map_from_suggestion

TODAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Company:
    """One kind of company in a ledger, and the CashFlow organisation that keeps its books there."""

    harness: str  # its key in HARNESSES
    country: str
    tax_name: str
    tax_percent: str
    tenant: dict[str, Any] = field(default_factory=dict)  # the sandbox company's options
    inclusive: bool = True  # CashFlow's prices include tax (US sales tax is added on top)
    own_tax_arithmetic: bool = False  # the ledger computes the tax itself: totals reconciled, its tax its own
    has_zero_code: bool = True  # a 0% code to carry a rounding difference


_CUSTOM_NUMBERS = {"settings": {"custom_txn_numbers": True}}
COMPANIES: dict[str, Company] = {
    "xero": Company("xero", "AU", "GST 10%", "10"),
    "quickbooks-au": Company("quickbooks", "AU", "GST 10%", "10"),
    "quickbooks-us": Company(
        "quickbooks",
        "US",
        "Sales tax 7.25%",
        "7.25",
        {"region": "US", **_CUSTOM_NUMBERS},
        inclusive=False,
        own_tax_arithmetic=True,
    ),
    # The accountant made GST free and Out of scope inactive: no 0% code to carry a rounding difference.
    "quickbooks-no-zero": Company(
        "quickbooks",
        "AU",
        "GST 10%",
        "10",
        {"settings": {"inactive_tax_codes": ["6", "8"]}},
        has_zero_code=False,
    ),
    "tally": Company("tally", "AU", "GST 10%", "10"),
}


@dataclass
class LedgerWorld:
    company: Company
    harness: Harness
    organisation: Organisation
    tenant_id: str
    connection: Connection
    gst: TaxRate
    customer: Any
    clock: Any  # time_machine's traveller

    def books(self, number: str) -> RemoteInvoice:
        found = self.harness.invoice(self.tenant_id, number)
        assert found is not None, f"{number} is not in {self.harness.provider}"
        return found

    def numbers(self) -> list[str]:
        """The invoice numbers the ledger holds, each once (a duplicate fails here)."""
        numbers = self.harness.invoice_numbers(self.tenant_id)
        assert len(numbers) == len(set(numbers)), f"duplicates in {self.harness.provider}: {sorted(numbers)}"
        return sorted(numbers)

    def issue(
        self, amount: str = "1100.00", *, issue_date: dt.date | None = None, customer: Any = None
    ) -> Invoice:
        """A one-line invoice priced as the organisation prices (tax included, but for US sales tax), to
        the world's customer unless another is given."""
        line = services.LineInput("system", "Panel bank", Decimal(1), Decimal(amount), self.gst.id)
        return self.issue_lines(
            [line], inclusive=self.company.inclusive, issue_date=issue_date, customer=customer
        )

    def issue_lines(
        self,
        lines: list[services.LineInput],
        *,
        inclusive: bool = False,
        issue_date: dt.date | None = None,
        customer: Any = None,
    ) -> Invoice:
        """An invoice of these lines, issued (emits invoice.issued), due in 14 days."""
        draft = services.create_invoice(
            self.organisation,
            services.InvoiceInput(
                customer_id=(customer or self.customer).id,
                kind="custom",
                due_date=(issue_date or timezone.localdate()) + dt.timedelta(days=14),
                tax_inclusive=inclusive,
                issue_date=issue_date,
                lines=lines,
            ),
        )
        return services.issue_invoice(draft)

    def drain(self, rounds: int = 12) -> list[RunReport]:
        """Run the worker until nothing is due, at most `rounds` times; a wait (backoff, rate-limit pause)
        between runs is passed by moving the clock to it."""
        reports = [sync_connection(self.connection.pk, budget_s=30)]
        for _ in range(rounds - 1):
            first = self.due().order_by("next_attempt_at").first()
            if first is None:
                break
            wait = (first.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                self.clock.shift(dt.timedelta(seconds=wait + 1))
            reports.append(sync_connection(self.connection.pk, budget_s=30))
        return reports

    def due(self) -> Any:
        return SyncRecord.objects.filter(
            connection=self.connection, state__in=(SyncState.PENDING, SyncState.RETRYING)
        )

    def all_synced(self) -> bool:
        states = list(SyncRecord.objects.values_list("kind", "state", "last_error"))
        return {state for _, state, _ in states} == {SyncState.SYNCED}


BeforeConnect = Callable[[Organisation, TaxRate], None]


def start_world(
    request: pytest.FixtureRequest,
    settings: Any,
    company: Company,
    mapped: bool = True,
    before_connect: BeforeConnect | None = None,
) -> Iterator[LedgerWorld]:
    """The world for one test, inside frozen (ticking) time; faults are cleared after it."""
    harness = HARNESSES[company.harness](request)
    harness.configure(settings)
    with time_machine.travel(TODAY, tick=True) as clock:
        yield build_world(harness, company, clock, mapped, before_connect)
    harness.clear_faults()


def build_world(
    harness: Harness,
    company: Company,
    clock: Any = None,
    mapped: bool = True,
    before_connect: BeforeConnect | None = None,
) -> LedgerWorld:
    """An installer in the company's country with its tax rate and one customer, connected by an
    administrator and (unless told not to) mapped from the suggestion. `before_connect` writes the books
    a historical push will carry (issued before the connection)."""
    organisation = services.create_organisation("Sunny Roofs", company.country)
    gst = services.create_tax_rate(organisation, company.tax_name, Decimal(company.tax_percent))
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email="ada@example.com", city="Sydney")
    )
    if before_connect is not None:
        before_connect(organisation, gst)
    user = get_user_model().objects.create_user(f"admin-{uuid.uuid4().hex[:12]}", password="x" * 12)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    enable_connector(organisation, user)
    browser = Client()
    browser.force_login(user)
    tenant_id = harness.new_tenant("Sunny Roofs", **company.tenant)  # type: ignore[call-arg]
    back = connect_through_views(browser, harness, organisation, [tenant_id])
    assert back.status_code in (200, 302), back.content
    connection = Connection.objects.get(organisation=organisation, tenant_id=tenant_id)
    if mapped:
        map_from_suggestion(connection, gst)
    return LedgerWorld(company, harness, organisation, tenant_id, connection, gst, customer, clock)
