"""The CashFlow side of a benchmark: an organisation with customers, issued invoices and payments, made
through cashflow's own services (so every row and event is what the product makes), deterministically."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.db import transaction

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Customer, Organisation, TaxRate

Tick = Callable[[int], None]
T = TypeVar("T")
CHUNK = 200  # objects per transaction: far fewer commits, still a bounded transaction
HISTORY_DAYS = 730


@dataclass(frozen=True)
class Spec:
    """Sizes of a backfill. Every `matched_every`-th customer already exists in the Xero tenant."""

    invoices: int
    customers: int
    payments: int
    matched_every: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.customers <= self.invoices or not 0 <= self.payments <= self.invoices:
            raise ValueError("need 0 < customers <= invoices and 0 <= payments <= invoices")

    @property
    def existing_contacts(self) -> int:
        return len(range(0, self.customers, self.matched_every))


@dataclass(frozen=True, slots=True)
class BenchCustomer:
    """What the bench reads of a customer it made. Not the model instance: 60,000 of those (100,000
    invoices) held ~90 MB through the backfill, counted in its peak RSS though the product never sees them."""

    id: uuid.UUID
    name: str
    email: str

    @classmethod
    def of(cls, customer: Customer) -> BenchCustomer:
        return cls(customer.id, customer.name, customer.email)


@dataclass(frozen=True)
class Books:
    organisation: Organisation
    gst: TaxRate
    customers: list[BenchCustomer]

    def already_in_ledger(self, spec: Spec) -> list[BenchCustomer]:
        """The customers whose contact the tenant has before the backfill (a third by default)."""
        return self.customers[:: spec.matched_every]


def customer_input(n: int) -> services.CustomerInput:
    return services.CustomerInput(
        name=f"Customer {n:05}", email=f"customer{n:05}@bench.example", city="Sydney"
    )


def invoice_amount(n: int) -> Decimal:
    """Varied totals with cents, 500.00 to about 9,500.99."""
    return Decimal(500 + (n * 37) % 9000) + Decimal(n % 100) / 100


def _chunked(count: int, tick: Tick, make: Callable[[int], T]) -> list[T]:
    made: list[T] = []
    for start in range(0, count, CHUNK):
        with transaction.atomic():
            made += [make(n) for n in range(start, min(start + CHUNK, count))]
        tick(min(CHUNK, count - start))
    return made


def build_books(name: str, spec: Spec, tick: Tick = lambda _: None) -> Books:
    """Customers, then `spec.invoices` tax-inclusive invoices issued over two years (customer n % customers),
    the first `spec.payments` of them paid: in full when even, 40% when odd."""
    organisation = services.create_organisation(name, "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    customers = _chunked(
        spec.customers,
        tick,
        lambda n: BenchCustomer.of(services.create_customer(organisation, customer_input(n))),
    )
    start = dt.date.today() - dt.timedelta(days=HISTORY_DAYS)

    def invoice(n: int) -> None:
        issued = start + dt.timedelta(days=n * HISTORY_DAYS // spec.invoices)
        line = services.LineInput("service", f"Panel clean {n}", Decimal(1), invoice_amount(n), gst.id)
        draft = services.create_invoice(
            organisation,
            services.InvoiceInput(
                customer_id=customers[n % spec.customers].id,
                kind="custom",
                due_date=issued + dt.timedelta(days=14),
                tax_inclusive=True,
                issue_date=issued,
                lines=[line],
            ),
        )
        issued_invoice = services.issue_invoice(draft)
        if n < spec.payments:
            amount = (
                issued_invoice.total
                if n % 2 == 0
                else (issued_invoice.total * 4 / 10).quantize(Decimal("0.01"))
            )
            services.record_payment(issued_invoice, amount, "bank_transfer", received_on=issued)

    _chunked(spec.invoices, tick, invoice)  # the invoices are not kept: the bench reads them back
    return Books(organisation, gst, customers)
