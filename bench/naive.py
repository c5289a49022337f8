"""The naive mode, for comparison only: what a first integration would do with the same books. One look-up
per customer by email, one PUT per missing contact, per invoice and per payment, one at a time, honouring
Retry-After. It lives here, never in the product, and is deliberately simple.

Its wall time is read on the sandbox clock: when it hits the daily limit the clock is jumped to the next
day window (POST /_sandbox/clock) instead of waiting it out; the figure is what a real tenant would take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.calls import sandbox_calls
from bench.dataset import Books
from bench.xero_api import SimpleXero
from ledgerlink.cashflow.models import Invoice, Payment
from ledgerlink.cashflow.money import from_minor
from ledgerlink.devtools.sandboxes import RunningSandbox
from ledgerlink.ledgers.models import PaymentAccountMapping, TaxRateMapping

Progress = Callable[[int], None]


@dataclass(frozen=True)
class NaiveResult:
    calls: int  # every HTTP request, 429s and token calls included
    api_calls: int  # as the sandbox logged them
    rate_limited: int  # 429s among them
    sandbox_s: float  # wall time on the sandbox clock (jumps over the day limit included)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class NaiveSync:
    def __init__(self, client: SimpleXero, books: Books, progress: Progress) -> None:
        self.client, self.books, self.progress = client, books, progress
        mapping = TaxRateMapping.objects.get(organisation=books.organisation, tax_rate=books.gst)
        self.account_code, self.tax_type = mapping.account_code, mapping.ledger_tax_code
        self.bank_code = PaymentAccountMapping.objects.get(organisation=books.organisation).account_code
        self.contacts: dict[str, str] = {}
        self.invoices: dict[str, str] = {}

    def run(self) -> None:
        self.client.get("/Accounts")
        self.client.get("/TaxRates")
        for customer in self.books.customers:
            self.contacts[str(customer.id)] = self.contact_id(customer)
        invoices = Invoice.objects.filter(organisation=self.books.organisation).prefetch_related("lines")
        for done, invoice in enumerate(invoices.order_by("number"), start=1):
            self.invoices[str(invoice.id)] = self.put_invoice(invoice)
            self.progress(done)
        for payment in Payment.objects.filter(invoice__organisation=self.books.organisation).order_by(
            "created_at"
        ):
            self.put_payment(payment)

    def contact_id(self, customer: Any) -> str:
        found = self.client.get("/Contacts", {"where": f"EmailAddress=={_quoted(customer.email)}"})[
            "Contacts"
        ]
        if found:
            return str(found[0]["ContactID"])
        made = self.client.put("/Contacts", {"Name": customer.name, "EmailAddress": customer.email})
        return str(made["Contacts"][0]["ContactID"])

    def put_invoice(self, invoice: Invoice) -> str:
        lines = [
            {
                "Description": line.description,
                "Quantity": str(line.quantity),
                "UnitAmount": str(line.unit_amount),
                "AccountCode": self.account_code,
                "TaxType": self.tax_type,
            }
            for line in invoice.lines.all()
        ]
        body = {
            "Type": "ACCREC",
            "Contact": {"ContactID": self.contacts[str(invoice.customer_id)]},
            "InvoiceNumber": invoice.number,
            "Date": invoice.issue_date.isoformat(),
            "DueDate": invoice.due_date.isoformat(),
            "LineAmountTypes": "Inclusive" if invoice.tax_inclusive else "Exclusive",
            "Status": "AUTHORISED",
            "LineItems": lines,
        }
        return str(self.client.put("/Invoices", body)["Invoices"][0]["InvoiceID"])

    def put_payment(self, payment: Payment) -> None:
        body = {
            "Invoice": {"InvoiceID": self.invoices[str(payment.invoice_id)]},
            "Account": {"Code": self.bank_code},
            "Date": payment.received_on.isoformat(),
            "Amount": str(from_minor(payment.amount_minor)),
        }
        self.client.put("/Payments", body)


def run_naive(
    sandbox: RunningSandbox, tenant_id: str, marker: int, books: Books, progress: Progress
) -> NaiveResult:
    """The naive sync of `books` into a tenant seeded like the backfill's; counts from the sandbox log."""
    control = sandbox.control
    scale = float(control.health()["time_scale"])
    started = control.clock()
    client = SimpleXero(sandbox, tenant_id, on_day_limit=lambda wait_s: control.advance_clock(wait_s * scale))
    NaiveSync(client, books, progress).run()
    api_calls = sandbox_calls(control, tenant_id, marker)
    refused = control.count(tenant_id, since=marker, status=429)
    return NaiveResult(
        calls=client.calls,
        api_calls=api_calls,
        rate_limited=refused,
        sandbox_s=round(control.clock() - started, 1),
    )
