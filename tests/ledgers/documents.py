"""CashFlow documents for ledger tests, built as the engine hands them over (contract values)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerlink.ledgers.contract import (
    AccountRef,
    Cancellation,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    ResolvedMapping,
    TaxRateMapping,
)

GST = "tax-gst"
EXEMPT = "tax-exempt"
ISSUED = dt.date(2026, 11, 2)
DUE = dt.date(2026, 11, 30)
SALES = AccountRef("acc-sales", "200")


def customer(n: int = 1, **overrides: object) -> Customer:
    fields: dict[str, object] = {
        "id": f"cust-{n}",
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
    }
    fields.update(overrides)
    return Customer(**fields)  # type: ignore[arg-type]


def line(
    amount: str,
    tax: str,
    *,
    line_type: str = "system",
    quantity: str = "1",
    unit: str | None = None,
    tax_rate_id: str = GST,
    percent: str = "10",
    description: str = "Solar system",
) -> InvoiceLine:
    return InvoiceLine(
        line_type=line_type,
        description=description,
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit if unit is not None else amount),
        line_amount=Decimal(amount),
        tax_amount=Decimal(tax),
        tax_rate_id=tax_rate_id,
        tax_rate_percent=Decimal(percent),
    )


def invoice(
    number: str = "INV-00042",
    lines: tuple[InvoiceLine, ...] | None = None,
    *,
    inclusive: bool = False,
    **overrides: object,
) -> Invoice:
    lines = lines or (line("1000.00", "100.00"),)
    subtotal = sum((ln.line_amount for ln in lines), Decimal(0))
    tax = sum((ln.tax_amount for ln in lines), Decimal(0))
    fields: dict[str, object] = {
        "id": f"id-{number}",
        "number": number,
        "customer": customer(),
        "issue_date": ISSUED,
        "due_date": DUE,
        "currency": "AUD",
        "tax_inclusive": inclusive,
        "lines": lines,
        "subtotal": subtotal - tax if inclusive else subtotal,
        "total_tax": tax,
        "total": subtotal if inclusive else subtotal + tax,
    }
    fields.update(overrides)
    return Invoice(**fields)  # type: ignore[arg-type]


def payment(amount: str = "500.00", method: str = "card", invoice_number: str = "INV-00042") -> Payment:
    return Payment(
        id="pay-1",
        invoice_id=f"id-{invoice_number}",
        invoice_number=invoice_number,
        amount=Decimal(amount),
        date=dt.date(2026, 11, 5),
        method=method,
        currency="AUD",
    )


def cancellation(inv: Invoice, credit: str, paid: str) -> Cancellation:
    return Cancellation(
        id="cn-1",
        number="CN-00001",
        invoice=inv,
        credit_amount=Decimal(credit),
        date=dt.date(2026, 11, 10),
        amount_paid=Decimal(paid),
    )


def mapping(*, sales: AccountRef = SALES, tax_code: str = "OUTPUT", **overrides: object) -> ResolvedMapping:
    fields: dict[str, object] = {
        "tax_rates": {GST: TaxRateMapping(sales, tax_code), EXEMPT: TaxRateMapping(sales, "EXEMPTOUTPUT")},
        "line_accounts": {},
        "payment_accounts": {"card": AccountRef("acc-clearing", "610")},
        "default_payment_account": AccountRef("acc-bank", "090"),
    }
    fields.update(overrides)
    return ResolvedMapping(**fields)  # type: ignore[arg-type]
