"""CashFlow rows -> the contract's documents. The only module of the engine that reads CashFlow's models
for their content; everything after it speaks in `ledgerlink.ledgers.contract` values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ledgerlink.cashflow import models as cf
from ledgerlink.cashflow.money import from_minor, to_minor
from ledgerlink.ledgers import contract as c
from ledgerlink.ledgers.contract import ObjectKind


def customer_document(customer: cf.Customer) -> c.Customer:
    lines = tuple(line for line in (customer.address_line1, customer.address_line2) if line)
    return c.Customer(
        id=str(customer.id),
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        address_lines=lines,
        city=customer.city,
        region=customer.region,
        postal_code=customer.postal_code,
        country=customer.country,
    )


def line_document(line: cf.InvoiceLine) -> c.InvoiceLine:
    return c.InvoiceLine(
        line_type=line.line_type,
        description=line.description,
        quantity=Decimal(line.quantity),
        unit_amount=line.unit_amount,
        line_amount=from_minor(line.line_amount_minor),
        tax_amount=from_minor(line.tax_minor),
        tax_rate_id=str(line.tax_rate_id),
        tax_rate_percent=Decimal(line.tax_rate_percent),
    )


def _position(line: cf.InvoiceLine) -> int:
    return line.position


def invoice_document(invoice: cf.Invoice) -> c.Invoice:
    assert invoice.issue_date is not None  # only an issued invoice goes to a ledger, or to its preview
    project = invoice.project
    return c.Invoice(
        id=str(invoice.id),
        number=invoice.number,
        customer=customer_document(invoice.customer),
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        tax_inclusive=invoice.tax_inclusive,
        # `.all()` reads the lines prefetched with a batch of invoices (`load_documents`).
        lines=tuple(line_document(line) for line in sorted(invoice.lines.all(), key=_position)),
        subtotal=from_minor(invoice.subtotal_minor),
        total_tax=from_minor(invoice.tax_minor),
        total=from_minor(invoice.total_minor),
        reference=invoice.reference or invoice.milestone_title,
        project_id=str(project.id) if project else "",
        project_name=project.name if project else "",
    )


def payment_document(payment: cf.Payment) -> c.Payment:
    invoice = payment.invoice
    return c.Payment(
        id=str(payment.id),
        invoice_id=str(invoice.id),
        invoice_number=invoice.number,
        amount=from_minor(payment.amount_minor),
        date=payment.received_on,
        method=payment.method,
        currency=invoice.currency,
        reference=payment.reference,
    )


def _sum_through(rows: Iterable[Any], last: Any) -> int:
    """The sum of `amount_minor` over `rows` created up to and including `last`."""
    cutoff = (last.created_at, str(last.id))
    return sum(row.amount_minor for row in rows if (row.created_at, str(row.id)) <= cutoff)


def reversal_document(reversal: cf.PaymentReversal) -> c.PaymentReversal:
    payment = reversal.payment
    # What was left of the payment right after this reversal: later reversals do not count yet.
    reversed_so_far = _sum_through(payment.reversals.all(), reversal)
    return c.PaymentReversal(
        id=str(reversal.id),
        payment=payment_document(payment),
        amount=from_minor(reversal.amount_minor),
        remaining=from_minor(payment.amount_minor - reversed_so_far),
        date=reversal.occurred_on,
        reason=reversal.kind,
    )


def cancellation_document(credit_note: cf.CreditNote) -> c.Cancellation:
    invoice = credit_note.invoice
    # A cancelled invoice is balanced to zero after each credit note (cashflow services: the first covers the
    # unpaid balance, later ones money reversed afterwards), so what stayed paid is the total less the credit.
    credited_so_far = _sum_through(invoice.credit_notes.all(), credit_note)
    return c.Cancellation(
        id=str(credit_note.id),
        number=credit_note.number,
        invoice=invoice_document(invoice),
        credit_amount=from_minor(credit_note.amount_minor),
        date=credit_note.issued_on,
        amount_paid=from_minor(invoice.total_minor - credited_so_far),
    )


# Per kind: the model, its document builder, the relations one query joins and those a second query brings
# for the whole batch (an invoice's lines), so loading a batch costs a query or two, not one per record.
_LOADERS: dict[ObjectKind, tuple[type[Any], Callable[..., c.Document], tuple[str, ...], tuple[str, ...]]] = {
    ObjectKind.CUSTOMER: (cf.Customer, customer_document, (), ()),
    ObjectKind.INVOICE: (cf.Invoice, invoice_document, ("customer", "project"), ("lines",)),
    ObjectKind.PAYMENT: (cf.Payment, payment_document, ("invoice",), ()),
    ObjectKind.PAYMENT_REVERSAL: (
        cf.PaymentReversal,
        reversal_document,
        ("payment__invoice",),
        ("payment__reversals",),
    ),
    ObjectKind.CANCELLATION: (
        cf.CreditNote,
        cancellation_document,
        ("invoice__customer", "invoice__project"),
        ("invoice__lines", "invoice__credit_notes"),
    ),
}

#: The CashFlow model behind each kind, as sync records name it in `subject_type`.
SUBJECT_TYPES: dict[ObjectKind, str] = {
    ObjectKind.CUSTOMER: "customer",
    ObjectKind.INVOICE: "invoice",
    ObjectKind.PAYMENT: "payment",
    ObjectKind.PAYMENT_REVERSAL: "payment_reversal",
    ObjectKind.CANCELLATION: "credit_note",
}


def load_documents(
    kind: ObjectKind, organisation_id: object, subject_ids: list[str]
) -> dict[str, c.Document]:
    """The documents for `subject_ids` of one kind, scoped to the organisation, by subject id.

    Read by primary key alone and scoped here: with the organisation in the query SQLite walked the
    organisation's index, every invoice it has, for each claim's thousand (O(N) per claim: the item that
    grew most from 10,000 to 100,000 invoices). Unordered: the result is keyed by id."""
    model, build, related, prefetched = _LOADERS[kind]
    rows = (
        model.objects.filter(id__in=subject_ids)
        .select_related(*related)
        .prefetch_related(*prefetched)
        .order_by()
    )
    scope = str(organisation_id)
    return {str(row.id): build(row) for row in rows if str(row.organisation_id) == scope}


def cashflow_total_minor(document: c.Document) -> int | None:
    """The amount the ledger's copy must show, to compare to the cent; None where nothing is compared."""
    if isinstance(document, c.Invoice):
        return to_minor(document.total)
    if isinstance(document, c.Payment):
        return to_minor(document.amount)
    if isinstance(document, c.Cancellation) and document.amount_paid:
        return to_minor(document.credit_amount)  # a credit note; a void creates no document to compare
    return None
