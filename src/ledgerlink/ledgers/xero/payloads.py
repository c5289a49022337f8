"""CashFlow documents → Xero request bodies. Pure functions: no HTTP, no ORM, no clock. Decimal in, Decimal
(exactly 2 dp) out; `ledgers.http.json_bytes` writes them as exact JSON numbers, never floats. The preview
screen calls these same functions. Field facts: xero.md section 3."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, NotRequired, TypedDict

from ledgerlink.ledgers.building import MappingMissing, credit_lines, money, unit_amount
from ledgerlink.ledgers.contract import (
    AccountRef,
    Cancellation,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    ResolvedMapping,
)


class XeroContactRef(TypedDict):
    ContactID: str


class XeroInvoiceRef(TypedDict):
    InvoiceID: str


class XeroAccountRef(TypedDict, total=False):
    AccountID: str
    Code: str


class XeroTracking(TypedDict):
    TrackingCategoryID: str
    Name: str
    Option: str


class XeroLineItem(TypedDict):
    Description: str
    Quantity: Decimal
    UnitAmount: Decimal
    LineAmount: Decimal
    TaxType: str
    TaxAmount: Decimal
    AccountCode: NotRequired[str]
    AccountID: NotRequired[str]
    Tracking: NotRequired[list[XeroTracking]]


class XeroInvoice(TypedDict):
    Type: Literal["ACCREC"]
    Status: Literal["AUTHORISED"]
    InvoiceNumber: str
    Contact: XeroContactRef
    Date: str
    DueDate: str
    CurrencyCode: str
    LineAmountTypes: Literal["Inclusive", "Exclusive"]
    LineItems: list[XeroLineItem]
    Reference: NotRequired[str]
    Url: NotRequired[str]


class XeroPhone(TypedDict):
    PhoneType: Literal["DEFAULT"]
    PhoneNumber: str


class XeroAddress(TypedDict, total=False):
    AddressType: Literal["POBOX"]
    AddressLine1: str
    AddressLine2: str
    AddressLine3: str
    AddressLine4: str
    City: str
    Region: str
    PostalCode: str
    Country: str


class XeroContact(TypedDict):
    Name: str
    ContactNumber: str
    EmailAddress: str
    Phones: NotRequired[list[XeroPhone]]
    Addresses: NotRequired[list[XeroAddress]]


class XeroPayment(TypedDict):
    Invoice: XeroInvoiceRef
    Account: XeroAccountRef
    Date: str
    Amount: Decimal
    Reference: str


class XeroCreditNote(TypedDict):
    Type: Literal["ACCRECCREDIT"]
    Status: Literal["AUTHORISED"]
    CreditNoteNumber: str
    Reference: str
    Contact: XeroContactRef
    Date: str
    CurrencyCode: str
    LineAmountTypes: Literal["Inclusive", "Exclusive"]
    LineItems: list[XeroLineItem]


class XeroAllocation(TypedDict):
    Invoice: XeroInvoiceRef
    Amount: Decimal
    Date: str


class XeroStatusChange(TypedDict):
    Status: Literal["DELETED", "VOIDED"]


def _account_fields(account: AccountRef) -> dict[str, str]:
    # Xero prefers codes (they are what users see), but not every account has one (xero.md, Accounts).
    return {"AccountCode": account.code} if account.code else {"AccountID": account.id}


def _quantity_and_unit(line: InvoiceLine) -> tuple[Decimal, Decimal, str]:
    """Xero rejects negative quantities (xero.md, Invoices), so a negative line carries its sign on the unit
    amount, which has up to four places (sent with unitdp=4). Xero recomputes LineAmount = Quantity x
    UnitAmount at 2 dp; when CashFlow's product is not a
    whole number of cents (6.5 x 1,234.57), send one unit of the rounded line amount instead, so the line
    total is CashFlow's to the cent, and keep the arithmetic in the description."""
    quantity, unit = line.quantity, line.unit_amount
    if quantity < 0:
        quantity, unit = -quantity, -unit
    if quantity * unit == line.line_amount and unit == unit_amount(unit):
        return quantity.normalize() if quantity == quantity.to_integral() else quantity, unit_amount(unit), ""
    return Decimal(1), money(line.line_amount), f" ({quantity.normalize()} x {unit})"


def line_item(line: InvoiceLine, invoice: Invoice, mapping: ResolvedMapping) -> XeroLineItem:
    """One CashFlow line as a Xero line, with CashFlow's own per-line tax (ROUND_HALF_UP) sent as TaxAmount,
    so Xero's totals equal CashFlow's to the cent whatever rounding Xero would apply itself."""
    account = mapping.account_for(line)
    tax = mapping.tax_rates.get(line.tax_rate_id)
    if account is None or tax is None:
        raise MappingMissing(f"No account or tax mapping for tax rate {line.tax_rate_id} ({line.line_type}).")
    quantity, unit, note = _quantity_and_unit(line)
    body: XeroLineItem = {
        # Xero needs at least one character (xero.md, Invoices).
        "Description": ((line.description or line.line_type.title()) + note)[:4000],
        "Quantity": quantity,
        "UnitAmount": unit,
        "LineAmount": money(line.line_amount),
        "TaxType": tax.ledger_tax_code,
        "TaxAmount": money(line.tax_amount),
        **_account_fields(account),  # type: ignore[typeddict-item]
    }
    option = mapping.tracking_options.get(invoice.project_id) if invoice.project_id else None
    if mapping.tracking_category_id and option:
        body["Tracking"] = [
            {
                "TrackingCategoryID": mapping.tracking_category_id,
                "Name": mapping.tracking_category_name,
                "Option": option,
            }
        ]
    return body


def _amount_types(invoice: Invoice) -> Literal["Inclusive", "Exclusive"]:
    return "Inclusive" if invoice.tax_inclusive else "Exclusive"


def invoice_body(invoice: Invoice, mapping: ResolvedMapping, contact_id: str) -> XeroInvoice:
    """An approved sales invoice (PUT /Invoices), numbered as in CashFlow, pointing back to CashFlow."""
    body: XeroInvoice = {
        "Type": "ACCREC",
        "Status": "AUTHORISED",
        "InvoiceNumber": invoice.number,
        "Contact": {"ContactID": contact_id},
        "Date": invoice.issue_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": _amount_types(invoice),
        "LineItems": [line_item(line, invoice, mapping) for line in invoice.lines],
    }
    if invoice.reference:
        body["Reference"] = invoice.reference[:255]
    if invoice.url:
        body["Url"] = invoice.url  # shown in Xero as "Go to <app>"
    return body


def contact_number(customer: Customer) -> str:
    """The ContactNumber a customer's contact carries: CashFlow's id, within Xero's 50 characters."""
    return customer.id[:50]


def disambiguated_name(customer: Customer) -> str:
    """Xero contact names are unique among active contacts (xero.md, Contacts): a second "Jane Smith" gets
    her email added, which is what tells the two apart for the accountant."""
    return f"{customer.name} ({customer.email or customer.id})"[:255]


def contact_body(customer: Customer, name: str | None = None) -> XeroContact:
    """A new contact carrying CashFlow's customer id in ContactNumber (API-only, meant for external ids)."""
    body: XeroContact = {
        "Name": (name or customer.name)[:255],
        "ContactNumber": contact_number(customer),
        "EmailAddress": customer.email[:255],
    }
    if customer.phone:
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": customer.phone[:50]}]
    address = _address(customer)
    if address:
        body["Addresses"] = [address]
    return body


def _address(customer: Customer) -> XeroAddress | None:
    fields: XeroAddress = {}
    for key, value in zip(
        ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4"), customer.address_lines, strict=False
    ):
        fields[key] = value  # type: ignore[literal-required]
    for key, value in (
        ("City", customer.city),
        ("Region", customer.region),
        ("PostalCode", customer.postal_code),
        ("Country", customer.country),
    ):
        if value:
            fields[key] = value  # type: ignore[literal-required]
    return {"AddressType": "POBOX", **fields} if fields else None


def payment_reference(payment: Payment) -> str:
    """The payment's Reference in Xero: CashFlow's reference when there is one, and always CashFlow's id, so
    a payment can be found again after an unknown outcome (Xero has no payment number)."""
    return f"{payment.reference} [{payment.id}]" if payment.reference else f"CashFlow [{payment.id}]"


def payment_body(
    payment: Payment, invoice_id: str, account: AccountRef, amount: Decimal | None = None
) -> XeroPayment:
    """A payment applied to an invoice (PUT /Payments). `amount` overrides the payment's own (a re-post of
    what remains after a partial refund)."""
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": account.code} if account.code else {"AccountID": account.id},
        "Date": payment.date.isoformat(),
        "Amount": money(payment.amount if amount is None else amount),
        "Reference": payment_reference(payment),
    }


def status_change(status: Literal["DELETED", "VOIDED"]) -> XeroStatusChange:
    """Deleting a payment (POST /Payments/{id}) or voiding an invoice (POST /Invoices/{id})."""
    return {"Status": status}


def credit_note_body(cancellation: Cancellation, mapping: ResolvedMapping, contact_id: str) -> XeroCreditNote:
    """The credit note for a cancelled, part-paid invoice: it covers the unpaid balance, spread over the
    invoice's lines in proportion, so each account and tax code is reversed in the share it was charged."""
    invoice = cancellation.invoice
    lines = credit_lines(invoice, cancellation.credit_amount)
    return {
        "Type": "ACCRECCREDIT",
        "Status": "AUTHORISED",
        "CreditNoteNumber": cancellation.number,
        "Reference": f"Cancels {invoice.number}",
        "Contact": {"ContactID": contact_id},
        "Date": cancellation.date.isoformat(),
        "CurrencyCode": invoice.currency,
        "LineAmountTypes": _amount_types(invoice),
        "LineItems": [line_item(line, invoice, mapping) for line in lines],
    }


def allocation_body(invoice_id: str, amount: Decimal, date: str) -> XeroAllocation:
    """Applies a credit note to its invoice (PUT /CreditNotes/{id}/Allocations)."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": money(amount), "Date": date}


def wrap(collection: str, bodies: Sequence[object]) -> dict[str, list[object]]:
    """Xero's envelope: {"Invoices": [...]}."""
    return {collection: list(bodies)}
