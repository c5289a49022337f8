"""CashFlow rows -> the contract's documents. The only module of the engine that reads CashFlow's models
for their content; everything after it speaks in `ledgerlink.ledgers.contract` values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ledgerlink.cashflow import models as cf
from ledgerlink.cashflow.money import from_minor, from_unit_e4, to_minor
from ledgerlink.ledgers import contract as c
from ledgerlink.ledgers.contract import ObjectKind

# Documents are built from plain column values (`values()`, with what a row refers to joined in under its
# relation's prefix), a query or two per batch and none per record: model instances with their prefetched
# lines cost more CPU than the rest of the engine's work per invoice.
_Row = dict[str, Any]
_CUSTOMER = (
    "id",
    "name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
)
_INVOICE = (
    "id",
    "number",
    "issue_date",
    "due_date",
    "currency",
    "tax_inclusive",
    "subtotal_minor",
    "tax_minor",
    "total_minor",
    "reference",
    "milestone_title",
    "project_id",
    "project__name",
    *(f"customer__{name}" for name in _CUSTOMER),
)
_LINE = (
    "position",
    "line_type",
    "description",
    "quantity",
    "unit_amount_e4",
    "line_amount_minor",
    "tax_minor",
    "tax_rate_id",
    "tax_rate_percent",
)
_PAYMENT = (
    "id",
    "amount_minor",
    "received_on",
    "method",
    "reference",
    "invoice_id",
    "invoice__number",
    "invoice__currency",
)
# What `_sum_through` reads of a payment's reversals or an invoice's credit notes.
_AMOUNTS = ("id", "amount_minor", "created_at")


def _under(prefix: str, fields: Iterable[str]) -> tuple[str, ...]:
    return tuple(prefix + field for field in fields)


def _grouped(
    model: type[Any], parent: str, ids: Iterable[Any], fields: tuple[str, ...]
) -> dict[Any, list[_Row]]:
    """The rows of `model` whose `parent` is one of `ids`, grouped by it."""
    groups: dict[Any, list[_Row]] = defaultdict(list)
    for row in model.objects.filter(**{f"{parent}__in": ids}).order_by().values(parent, *fields):
        groups[row[parent]].append(row)
    return groups


def _customer(row: _Row, at: str = "") -> c.Customer:
    lines = tuple(line for line in (row[f"{at}address_line1"], row[f"{at}address_line2"]) if line)
    return c.Customer(
        id=str(row[f"{at}id"]),
        name=row[f"{at}name"],
        email=row[f"{at}email"],
        phone=row[f"{at}phone"],
        address_lines=lines,
        city=row[f"{at}city"],
        region=row[f"{at}region"],
        postal_code=row[f"{at}postal_code"],
        country=row[f"{at}country"],
    )


def _line(row: _Row) -> c.InvoiceLine:
    return c.InvoiceLine(
        line_type=row["line_type"],
        description=row["description"],
        quantity=Decimal(row["quantity"]),
        unit_amount=from_unit_e4(row["unit_amount_e4"]),
        line_amount=from_minor(row["line_amount_minor"]),
        tax_amount=from_minor(row["tax_minor"]),
        tax_rate_id=str(row["tax_rate_id"]),
        tax_rate_percent=Decimal(row["tax_rate_percent"]),
    )


def _position(row: _Row) -> int:
    position: int = row["position"]
    return position


def _invoices(rows: list[_Row], at: str = "") -> dict[Any, c.Invoice]:
    """Invoice documents for rows holding `_INVOICE` under the prefix `at`, by invoice id; their lines are
    read by one query for them all."""
    lines = _grouped(cf.InvoiceLine, "invoice_id", {row[f"{at}id"] for row in rows}, _LINE)
    documents = {}
    for row in rows:
        assert row[f"{at}issue_date"] is not None  # only an issued invoice goes to a ledger, or its preview
        project_id = row[f"{at}project_id"]
        documents[row[f"{at}id"]] = c.Invoice(
            id=str(row[f"{at}id"]),
            number=row[f"{at}number"],
            customer=_customer(row, f"{at}customer__"),
            issue_date=row[f"{at}issue_date"],
            due_date=row[f"{at}due_date"],
            currency=row[f"{at}currency"],
            tax_inclusive=row[f"{at}tax_inclusive"],
            lines=tuple(_line(line) for line in sorted(lines[row[f"{at}id"]], key=_position)),
            subtotal=from_minor(row[f"{at}subtotal_minor"]),
            total_tax=from_minor(row[f"{at}tax_minor"]),
            total=from_minor(row[f"{at}total_minor"]),
            reference=row[f"{at}reference"] or row[f"{at}milestone_title"],
            project_id=str(project_id) if project_id is not None else "",
            project_name=row[f"{at}project__name"] if project_id is not None else "",
        )
    return documents


def _payment(row: _Row, at: str = "") -> c.Payment:
    return c.Payment(
        id=str(row[f"{at}id"]),
        invoice_id=str(row[f"{at}invoice_id"]),
        invoice_number=row[f"{at}invoice__number"],
        amount=from_minor(row[f"{at}amount_minor"]),
        date=row[f"{at}received_on"],
        method=row[f"{at}method"],
        currency=row[f"{at}invoice__currency"],
        reference=row[f"{at}reference"],
    )


def _payments(rows: list[_Row]) -> dict[Any, c.Payment]:
    return {row["id"]: _payment(row) for row in rows}


def _sum_through(rows: Iterable[_Row], last: _Row) -> int:
    """The sum of `amount_minor` over `rows` created up to and including `last`."""
    cutoff = (last["created_at"], str(last["id"]))
    return sum(row["amount_minor"] for row in rows if (row["created_at"], str(row["id"])) <= cutoff)


def _so_far(model: type[Any], parent: str, rows: list[_Row]) -> dict[Any, int]:
    """For each row (a reversal, a credit note), the `amount_minor` of its parent's rows of `model` created up
    to and including it, read by one query for them all."""
    siblings = _grouped(model, parent, {row[parent] for row in rows}, _AMOUNTS)
    return {row["id"]: _sum_through(siblings[row[parent]], row) for row in rows}


def _reversals(rows: list[_Row]) -> dict[Any, c.PaymentReversal]:
    # What was left of the payment right after each reversal: later reversals do not count yet.
    reversed_so_far = _so_far(cf.PaymentReversal, "payment_id", rows)
    return {
        row["id"]: c.PaymentReversal(
            id=str(row["id"]),
            payment=_payment(row, "payment__"),
            amount=from_minor(row["amount_minor"]),
            remaining=from_minor(row["payment__amount_minor"] - reversed_so_far[row["id"]]),
            date=row["occurred_on"],
            reason=row["kind"],
        )
        for row in rows
    }


def _cancellations(rows: list[_Row]) -> dict[Any, c.Cancellation]:
    invoices = _invoices(rows, "invoice__")
    # A cancelled invoice is balanced to zero after each credit note (cashflow services: the first covers the
    # unpaid balance, later ones money reversed afterwards), so what stayed paid is the total less the credit.
    credited_so_far = _so_far(cf.CreditNote, "invoice_id", rows)
    return {
        row["id"]: c.Cancellation(
            id=str(row["id"]),
            number=row["number"],
            invoice=invoices[row["invoice_id"]],
            credit_amount=from_minor(row["amount_minor"]),
            date=row["issued_on"],
            amount_paid=from_minor(row["invoice__total_minor"] - credited_so_far[row["id"]]),
        )
        for row in rows
    }


def _customers(rows: list[_Row]) -> dict[Any, c.Customer]:
    return {row["id"]: _customer(row) for row in rows}


# Per kind: the model, the columns read of it and of what it refers to, and the builder of its documents
# from those rows (which reads an invoice's lines, or a payment's other reversals, for the whole batch).
_LOADERS: dict[ObjectKind, tuple[type[Any], tuple[str, ...], Callable[[list[_Row]], dict[Any, Any]]]] = {
    ObjectKind.CUSTOMER: (cf.Customer, _CUSTOMER, _customers),
    ObjectKind.INVOICE: (cf.Invoice, _INVOICE, _invoices),
    ObjectKind.PAYMENT: (cf.Payment, _PAYMENT, _payments),
    ObjectKind.PAYMENT_REVERSAL: (
        cf.PaymentReversal,
        (
            "id",
            "payment_id",
            "kind",
            "amount_minor",
            "occurred_on",
            "created_at",
            *_under("payment__", _PAYMENT),
        ),
        _reversals,
    ),
    ObjectKind.CANCELLATION: (
        cf.CreditNote,
        (
            "id",
            "invoice_id",
            "number",
            "amount_minor",
            "issued_on",
            "created_at",
            *_under("invoice__", _INVOICE),
        ),
        _cancellations,
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
    model, fields, build = _LOADERS[kind]
    scope = str(organisation_id)
    rows = model.objects.filter(id__in=subject_ids).order_by().values("organisation_id", *fields)
    mine = [row for row in rows if str(row["organisation_id"]) == scope]
    return {str(pk): document for pk, document in build(mine).items()} if mine else {}


def invoice_document(invoice: cf.Invoice) -> c.Invoice:
    """The document of one issued invoice (the preview shows what the ledger would be sent for it)."""
    document = load_documents(ObjectKind.INVOICE, invoice.organisation_id, [str(invoice.pk)])[str(invoice.pk)]
    assert isinstance(document, c.Invoice)
    return document


def cashflow_total_minor(document: c.Document) -> int | None:
    """The amount the ledger's copy must show, to compare to the cent; None where nothing is compared."""
    if isinstance(document, c.Invoice):
        return to_minor(document.total)
    if isinstance(document, c.Payment):
        return to_minor(document.amount)
    if isinstance(document, c.Cancellation) and document.amount_paid:
        return to_minor(document.credit_amount)  # a credit note; a void creates no document to compare
    return None
