"""An installer's messy books, issued from several threads at once: each invoice is paid, then part of
its money goes back (refund, chargeback, undo and re-pay), then it is cancelled. Used in-process on
PostgreSQL and from `embedded_app.py` (a process of its own on an SQLite file), so it imports plainly.

The ledger must end where CashFlow ends, to the cent, for every invoice: that only happens when every
object of an invoice reaches the ledger in CashFlow's order (a credit note allocated before a refund's
re-post is refused; a payment sent after an allocation exceeds what is due)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice

TOTAL = Decimal("860.00")


def _refund_then_cancel(invoice: Invoice) -> None:
    payment = services.record_payment(invoice, TOTAL, "card")
    services.refund_payment(payment, Decimal("360.00"))
    services.cancel_invoice(_fresh(invoice))


def _chargeback_then_cancel(invoice: Invoice) -> None:
    services.record_payment(invoice, Decimal("300.00"), "card")
    second = services.record_payment(_fresh(invoice), Decimal("200.00"), "card")
    services.charge_back(second)
    services.cancel_invoice(_fresh(invoice))


def _undo_repay_then_cancel(invoice: Invoice) -> None:
    payment = services.record_payment(invoice, TOTAL, "cash")
    services.undo_offline_payment(payment)
    services.record_payment(_fresh(invoice), Decimal("500.00"), "cash")
    services.cancel_invoice(_fresh(invoice))


SCENARIOS: tuple[Callable[[Invoice], None], ...] = (
    _refund_then_cancel,
    _chargeback_then_cancel,
    _undo_repay_then_cancel,
)


def _fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def _issue(organisation: Any, customer: Any, tax_rate: Any, n: int) -> Invoice:
    line = services.LineInput("service", f"Battery service {n}", Decimal(1), TOTAL, tax_rate.pk)
    draft = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer_id=customer.pk,
            kind="custom",
            due_date=services.organisation_today(organisation) + dt.timedelta(days=30),
            tax_inclusive=True,
            lines=[line],
        ),
    )
    return services.issue_invoice(draft)


def run(organisation: Any, customer: Any, tax_rate: Any, invoices: int, threads: int) -> list[str]:
    """Issue `invoices` invoices and play a scenario on each, `threads` API clients at once (each client
    works through its own invoices, step by step, interleaved with the others). Returns the numbers."""
    numbers: list[str] = []
    failures: list[BaseException] = []

    def client(index: int) -> None:
        try:
            for n in range(index, invoices, threads):
                invoice = _issue(organisation, customer, tax_rate, n)
                numbers.append(invoice.number)
                SCENARIOS[n % len(SCENARIOS)](invoice)
        except BaseException as error:  # reported by the caller, not lost in a thread
            failures.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return sorted(numbers)


def expected_books(organisation: Any) -> dict[str, dict[str, str]]:
    """CashFlow's side of every invoice, as the ledger should show it."""
    return {
        invoice.number: {
            "total": str(invoice.total),
            "paid": str(invoice.amount_paid),
            "credited": str(invoice.amount_credited),
            "due": str(invoice.total - invoice.amount_paid - invoice.amount_credited),
        }
        for invoice in Invoice.objects.filter(organisation=organisation)
    }


def mismatches(expected: dict[str, dict[str, str]], ledger: dict[str, Any]) -> list[str]:
    """Every difference between CashFlow's books and the ledger's, to the cent; empty when they agree.
    A duplicate invoice, credit note or extra payment shows up as a difference too."""
    problems = []
    invoices = [i for i in ledger["Invoices"] if i.get("Type") == "ACCREC"]
    numbers = [i["InvoiceNumber"] for i in invoices]
    if sorted(numbers) != sorted(expected):
        problems.append(f"invoices in the ledger {sorted(numbers)} != CashFlow's {sorted(expected)}")
    for invoice in invoices:
        want = expected.get(invoice["InvoiceNumber"])
        if want is None:
            continue
        got = {
            "total": invoice["Total"],
            "paid": invoice["AmountPaid"],
            "credited": invoice["AmountCredited"],
            "due": invoice["AmountDue"],
        }
        for field, value in want.items():
            if Decimal(str(got[field])) != Decimal(value):
                problems.append(f"{invoice['InvoiceNumber']} {field}: ledger {got[field]}, CashFlow {value}")
        status = "PAID" if Decimal(want["due"]) == 0 else "AUTHORISED"
        if invoice["Status"] != status:
            problems.append(
                f"{invoice['InvoiceNumber']} status: ledger {invoice['Status']}, expected {status}"
            )
    credit_notes = [c for c in ledger["CreditNotes"] if c.get("Status") != "DELETED"]
    if len(credit_notes) != len(expected):
        problems.append(f"{len(credit_notes)} credit notes in the ledger for {len(expected)} cancellations")
    return problems
