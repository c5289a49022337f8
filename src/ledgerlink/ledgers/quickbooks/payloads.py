"""CashFlow documents → QuickBooks Online request bodies. Pure functions: no HTTP, no ORM, no clock. Decimal
in, Decimal (2 dp for money) out; `ledgers.http.json_bytes` writes them as exact JSON numbers. Field facts:
quickbooks.md section 2.

Three facts of QuickBooks shape these bodies:
- a sales line has no account of its own: it posts to its Item's income account, so each line names the
  Service item made for its line type and account (quickbooks.md 2.4);
- QuickBooks computes the tax itself (US: automated sales tax on `TAX` lines; elsewhere per TaxCode), rounding
  per rate rather than per line as CashFlow does, so a rounding line on a 0% code brings the total to
  CashFlow's to the cent;
- `Amount` must equal `Qty` x `UnitPrice` to the cent (6070).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, NotRequired, TypedDict

from ledgerlink.ledgers.building import CENT, MappingMissing, credit_lines, money
from ledgerlink.ledgers.contract import (
    AccountRef,
    Cancellation,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    ResolvedMapping,
)
from ledgerlink.ledgers.errors import NeedsAttention


class QboRef(TypedDict):
    value: str


class QboSalesItemLineDetail(TypedDict):
    ItemRef: QboRef
    Qty: Decimal
    UnitPrice: Decimal
    TaxCodeRef: QboRef


class QboSalesLine(TypedDict):
    DetailType: Literal["SalesItemLineDetail"]
    Amount: Decimal
    Description: str
    SalesItemLineDetail: QboSalesItemLineDetail


class QboAddress(TypedDict, total=False):
    Line1: str
    Line2: str
    Line3: str
    Line4: str
    Line5: str
    City: str
    CountrySubDivisionCode: str
    PostalCode: str
    Country: str


class QboCustomer(TypedDict):
    DisplayName: str
    PrimaryEmailAddr: NotRequired[dict[Literal["Address"], str]]
    PrimaryPhone: NotRequired[dict[Literal["FreeFormNumber"], str]]
    BillAddr: NotRequired[QboAddress]


class QboItem(TypedDict):
    Name: str
    Type: Literal["Service"]
    IncomeAccountRef: QboRef


class QboSalesForm(TypedDict):
    """An Invoice or a CreditMemo."""

    CustomerRef: QboRef
    Line: list[QboSalesLine]
    PrivateNote: str
    DocNumber: NotRequired[str]
    TxnDate: NotRequired[str]
    DueDate: NotRequired[str]
    GlobalTaxCalculation: NotRequired[Literal["TaxInclusive", "TaxExcluded"]]
    CurrencyRef: NotRequired[QboRef]
    CustomerMemo: NotRequired[QboRef]


class QboLinkedTxn(TypedDict):
    TxnId: str
    TxnType: Literal["Invoice", "CreditMemo"]


class QboPaymentLine(TypedDict):
    Amount: Decimal
    LinkedTxn: list[QboLinkedTxn]


class QboPayment(TypedDict):
    CustomerRef: QboRef
    TotalAmt: Decimal
    TxnDate: str
    PrivateNote: str
    Line: list[QboPaymentLine]
    DepositToAccountRef: NotRequired[QboRef]
    PaymentRefNum: NotRequired[str]
    PaymentMethodRef: NotRequired[QboRef]


class QboIdentity(TypedDict):
    """What delete and void take (quickbooks.md 2.8)."""

    Id: str
    SyncToken: str


class QboSparsePayment(QboIdentity):
    sparse: Literal[True]
    TotalAmt: Decimal
    Line: list[Any]  # the payment's own line as QuickBooks gave it, amount changed


Body = QboCustomer | QboSalesForm | QboPayment  # what a batch item carries
ROUNDING = "rounding"  # the items key of the line that reconciles QuickBooks' tax to CashFlow's
US_TAXABLE, US_NON_TAXABLE = "TAX", "NON"
MAX_DOC_NUMBER = 21
# How far QuickBooks' per-rate tax may differ from CashFlow's per-line tax and still be rounding: half a cent
# per line at most. More than that is a different rate, which the user must fix, not a line that hides it.
ROUNDING_PER_LINE = Decimal("0.005")


@dataclass(frozen=True)
class Company:
    """What a company's preferences and tax codes decide about a body (read once per process and company
    while fresh: ledger.COMPANIES)."""

    us_sales_tax: bool  # US model: lines TAX/NON, tax computed on the transaction (quickbooks.md 2.2)
    custom_numbers: bool  # Preferences.SalesFormsPrefs.CustomTxnNumbers: DocNumber kept as sent
    home_currency: str
    multicurrency: bool
    code_rates: Mapping[str, tuple[Decimal, ...]] = field(default_factory=dict)  # TaxCode id -> sales rates
    us_code: str = ""  # the jurisdiction code automated sales tax applies when none is sent
    zero_code: str = ""  # a 0% code for the rounding line ("NON" in the US); "" when the company has none


def ref(value: str) -> QboRef:
    return {"value": value}


def item_label(line_type: str) -> str:
    """The Service item a line type posts through, as the accountant will see it in QuickBooks."""
    return "CashFlow " + line_type.replace("_", " ").strip().lower()


def item_body(name: str, account: AccountRef) -> QboItem:
    """A Service item bound to the mapped income account (quickbooks.md 2.4: lines post to this account)."""
    return {"Name": name[:100], "Type": "Service", "IncomeAccountRef": ref(account.id)}


def disambiguated_name(customer: Customer) -> str:
    """DisplayName is unique across customers, vendors and employees, inactive ones included (6240): a
    second "Jane Smith" gets her email added, which is what tells the two apart for the accountant. A colon
    is not allowed in names."""
    return f"{customer.name} ({customer.email or customer.id})".replace(":", " ")[:500]


def customer_body(customer: Customer, name: str | None = None) -> QboCustomer:
    body: QboCustomer = {"DisplayName": (name or customer.name).replace(":", " ")[:500]}
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email[:100]}
    if customer.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": customer.phone[:30]}
    address: QboAddress = {}
    for index, value in enumerate(customer.address_lines[:5], start=1):
        address[f"Line{index}"] = value[:500]  # type: ignore[literal-required]
    for key, value in (
        ("City", customer.city),
        ("CountrySubDivisionCode", customer.region),
        ("PostalCode", customer.postal_code),
        ("Country", customer.country),
    ):
        if value:
            address[key] = value  # type: ignore[literal-required]
    if address:
        body["BillAddr"] = address
    return body


def _qty_and_price(line: InvoiceLine, amount: Decimal) -> tuple[Decimal, Decimal, str]:
    """QuickBooks checks Amount = Qty x UnitPrice to the cent (6070). CashFlow's line amount is that product
    rounded, so the pair goes as it is when it agrees; otherwise (a price per watt times a fractional
    quantity) one unit at the line amount, with the arithmetic kept in the description."""
    if money(line.quantity * line.unit_amount) == amount:
        return _plain(line.quantity), _plain(line.unit_amount), ""
    return Decimal(1), amount, f" ({_plain(line.quantity)} x {_plain(line.unit_amount)})"


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros and never in exponent form (1000, not 1E+3), as QuickBooks writes numbers."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _exclusive_amount(line: InvoiceLine, tax_inclusive: bool, company: Company) -> Decimal:
    # US sales tax is always added on top (no inclusive mode): an inclusive CashFlow line goes net of tax.
    if company.us_sales_tax and tax_inclusive:
        return money(line.line_amount - line.tax_amount)
    return money(line.line_amount)


def tax_code(line: InvoiceLine, mapping: ResolvedMapping, company: Company) -> str:
    if company.us_sales_tax:
        # Anything but TAX/NON on a US line is 6100; the rate is the jurisdiction's, not the line's.
        return US_TAXABLE if line.tax_rate_percent > 0 else US_NON_TAXABLE
    tax = mapping.tax_rates.get(line.tax_rate_id)
    if tax is None:
        raise MappingMissing(f"No tax mapping for tax rate {line.tax_rate_id} ({line.line_type}).")
    return tax.ledger_tax_code


def sales_line(
    line: InvoiceLine, amount: Decimal, code: str, item_id: str, description: str = ""
) -> QboSalesLine:
    qty, price, note = _qty_and_price(line, amount)
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": ((description or line.description or line.line_type) + note)[:4000],
        "SalesItemLineDetail": {
            "ItemRef": ref(item_id),
            "Qty": qty,
            "UnitPrice": price,
            "TaxCodeRef": ref(code),
        },
    }


def _item_for(line_type: str, items: Mapping[str, str]) -> str:
    if line_type not in items:
        raise MappingMissing(f"No QuickBooks item for {line_type} lines.")
    return items[line_type]


def expected_tax(lines: Sequence[QboSalesLine], company: Company) -> Decimal:
    """The tax QuickBooks will add to these (exclusive) lines: per rate, rounded half-up (sandbox/tax.py and
    quickbooks.md 2.2); in the US, the taxable total at the jurisdiction's rate."""
    bases: dict[str, Decimal] = {}
    for line in lines:
        code = line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        bases[code] = bases.get(code, Decimal(0)) + line["Amount"]
    if company.us_sales_tax:
        bases = {company.us_code: bases.get(US_TAXABLE, Decimal(0))}
    return sum(
        (
            (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            for code, base in bases.items()
            for rate in company.code_rates.get(code, ())
        ),
        Decimal(0),
    )


def document_lines(
    lines: Sequence[InvoiceLine],
    tax_inclusive: bool,
    cashflow_tax: Decimal,
    mapping: ResolvedMapping,
    items: Mapping[str, str],
    company: Company,
    what: str,
) -> list[QboSalesLine]:
    """The sales lines of an invoice or credit memo and, when QuickBooks' tax would differ from CashFlow's
    by rounding, one line on a 0% code carrying the difference, so the totals agree to the cent. With tax
    inclusive (outside the US) the total is the lines' sum, which already is CashFlow's."""
    body = [
        sales_line(
            line,
            _exclusive_amount(line, tax_inclusive, company),
            tax_code(line, mapping, company),
            _item_for(line.line_type, items),
        )
        for line in lines
    ]
    if (tax_inclusive and not company.us_sales_tax) or not company.code_rates:
        # Inclusive: the total is the lines' sum, already CashFlow's. No rates known (the preview, which
        # makes no call): nothing to reconcile against.
        return body
    difference = cashflow_tax - expected_tax(body, company)
    if difference == 0:
        return body
    if abs(difference) > ROUNDING_PER_LINE * len(body):
        raise NeedsAttention(
            f"QuickBooks would charge {money(cashflow_tax - difference)} tax on this {what}, CashFlow "
            f"charged {money(cashflow_tax)}: the tax rates differ. Check the tax mapping (and, in the US, "
            "the company's sales tax jurisdiction).",
            configuration=True,
            code="tax_differs",
        )
    if not company.zero_code:
        raise NeedsAttention(
            "This QuickBooks company has no 0% tax code, which QuickBooks needs for the line that keeps its "
            "tax rounding equal to CashFlow's. Add a 0% tax code in QuickBooks, then retry.",
            configuration=True,
            code="no_zero_tax_code",
        )
    rounding = InvoiceLine(
        line_type=ROUNDING,
        description="Tax rounding (CashFlow rounds tax per line)",
        quantity=Decimal(1),
        unit_amount=difference,
        line_amount=difference,
        tax_amount=Decimal(0),
        tax_rate_id="",
        tax_rate_percent=Decimal(0),
    )
    body.append(sales_line(rounding, difference, company.zero_code, _item_for(ROUNDING, items)))
    return body


def _check_currency(currency: str, company: Company) -> None:
    """QuickBooks refuses a foreign-currency document unless multicurrency is on (quickbooks.md 2.5): say so
    before sending, in words the user can act on. Unknown home currency (the preview): not checked."""
    if company.home_currency and not company.multicurrency and currency != company.home_currency:
        raise NeedsAttention(
            f"This QuickBooks company keeps its books in {company.home_currency} and multicurrency is off, "
            f"so it cannot take a {currency} document. Turn on multicurrency in QuickBooks (Settings > "
            "Account and settings > Advanced > Currency), then retry.",
            configuration=True,
            code="currency_not_enabled",
        )


def _sales_form(
    invoice: Invoice, customer_id: str, company: Company, lines: list[QboSalesLine], private_note: str
) -> QboSalesForm:
    _check_currency(invoice.currency, company)
    body: QboSalesForm = {"CustomerRef": ref(customer_id), "Line": lines, "PrivateNote": private_note[:4000]}
    if not company.us_sales_tax:
        body["GlobalTaxCalculation"] = "TaxInclusive" if invoice.tax_inclusive else "TaxExcluded"
    if company.multicurrency:
        body["CurrencyRef"] = ref(invoice.currency)
    return body


def doc_number(number: str, company: Company) -> str:
    """CashFlow's number as QuickBooks' DocNumber. With custom transaction numbers off QuickBooks numbers
    invoices itself and CashFlow's could never be found again, so that is a setting the user must change."""
    if not company.custom_numbers:
        raise NeedsAttention(
            "Custom transaction numbers are off in this QuickBooks company, so QuickBooks would renumber "
            "CashFlow's invoices. Turn them on (Settings > Account and settings > Sales > Custom "
            "transaction numbers), then retry.",
            configuration=True,
            code="custom_numbers_off",
        )
    if len(number) > MAX_DOC_NUMBER:
        raise NeedsAttention(
            f"QuickBooks document numbers have at most {MAX_DOC_NUMBER} characters; {number} has more.",
            code="doc_number_too_long",
        )
    return number


def invoice_body(
    invoice: Invoice,
    mapping: ResolvedMapping,
    customer_id: str,
    items: Mapping[str, str],
    company: Company,
) -> QboSalesForm:
    """An invoice numbered as in CashFlow, with a private note pointing back to it."""
    lines = document_lines(
        invoice.lines, invoice.tax_inclusive, invoice.total_tax, mapping, items, company, "invoice"
    )
    note = f"CashFlow invoice {invoice.number}" + (f" {invoice.url}" if invoice.url else "")
    body = _sales_form(invoice, customer_id, company, lines, note)
    body["DocNumber"] = doc_number(invoice.number, company)
    body["TxnDate"] = invoice.issue_date.isoformat()
    body["DueDate"] = invoice.due_date.isoformat()
    if invoice.reference:
        body["CustomerMemo"] = {"value": invoice.reference[:1000]}
    return body


def preview_company(mapping: ResolvedMapping) -> Company:
    """What the preview assumes without calling QuickBooks: the US model when the mapping uses TAX/NON
    (only a US company accepts them), custom numbers on (pre-flight checks the real setting)."""
    codes = {tax.ledger_tax_code for tax in mapping.tax_rates.values()}
    return Company(
        us_sales_tax=bool(codes & {US_TAXABLE, US_NON_TAXABLE}),
        custom_numbers=True,
        home_currency="",
        multicurrency=False,
    )


def payment_note(payment: Payment) -> str:
    """CashFlow's id in the payment's PrivateNote: QuickBooks has no payment number, and this is what finds
    the payment again after an unknown outcome."""
    return f"CashFlow payment [{payment.id}]" + (f" {payment.reference}" if payment.reference else "")


def payment_body(
    payment: Payment,
    customer_id: str,
    invoice_id: str,
    account: AccountRef,
    method_id: str = "",
) -> QboPayment:
    """A payment applied to its invoice, deposited to the mapped account (an Undeposited Funds account is
    a valid mapping for users who bank payments in deposits), with the company's payment method for
    CashFlow's where it has one."""
    value = money(payment.amount)
    body: QboPayment = {
        "CustomerRef": ref(customer_id),
        "TotalAmt": value,
        "TxnDate": payment.date.isoformat(),
        "DepositToAccountRef": ref(account.id),
        "PrivateNote": payment_note(payment)[:4000],
        "PaymentRefNum": (payment.reference or payment.id)[:21],
        "Line": [{"Amount": value, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }
    if method_id:
        body["PaymentMethodRef"] = ref(method_id)
    return body


def credit_memo_body(
    cancellation: Cancellation,
    mapping: ResolvedMapping,
    customer_id: str,
    items: Mapping[str, str],
    company: Company,
) -> QboSalesForm:
    """The credit memo for a cancelled, part-paid invoice: it covers the unpaid balance, spread over the
    invoice's lines in proportion, so each item and tax code is reversed in the share it was charged."""
    invoice = cancellation.invoice
    scaled = credit_lines(invoice, cancellation.credit_amount)
    tax = sum((line.tax_amount for line in scaled), Decimal(0))
    lines = document_lines(scaled, invoice.tax_inclusive, tax, mapping, items, company, "credit memo")
    body = _sales_form(
        invoice, customer_id, company, lines, f"CashFlow credit note; cancels {invoice.number}"
    )
    body["DocNumber"] = doc_number(cancellation.number, company)
    body["TxnDate"] = cancellation.date.isoformat()
    return body


def apply_credit_body(
    customer_id: str, invoice_id: str, credit_memo_id: str, amount: Decimal, date: str
) -> QboPayment:
    """Applies a credit memo to its invoice: a payment of 0 whose lines link both (quickbooks.md 2.6)."""
    value = money(amount)
    return {
        "CustomerRef": ref(customer_id),
        "TotalAmt": Decimal("0.00"),
        "TxnDate": date,
        "PrivateNote": f"Applies credit memo {credit_memo_id}",
        "Line": [
            {"Amount": value, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]},
            {"Amount": value, "LinkedTxn": [{"TxnId": credit_memo_id, "TxnType": "CreditMemo"}]},
        ],
    }


def reduced_payment_body(current: Mapping[str, Any], remaining: Decimal) -> QboSparsePayment:
    """A sparse update of a payment to what is left of it after a partial refund: QuickBooks payments can be
    edited, so the payment keeps its Id and history. Its one line shrinks with it."""
    value = money(remaining)
    lines = [{**line, "Amount": value} for line in current.get("Line") or []][:1]
    return {
        "Id": str(current["Id"]),
        "SyncToken": str(current["SyncToken"]),
        "sparse": True,
        "TotalAmt": value,
        "Line": lines,
    }


def identity(current: Mapping[str, Any]) -> QboIdentity:
    """{"Id","SyncToken"}: what delete and void take (quickbooks.md 2.8)."""
    return {"Id": str(current["Id"]), "SyncToken": str(current["SyncToken"])}
