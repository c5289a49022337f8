"""Wire shapes of the JSON API v1. Money travels as decimal strings both ways ("1250.00"), never as JSON
numbers: a float cannot hold 0.10 exactly. Inputs refuse NUL bytes and unpaired surrogates, which no
database stores, so bad text is a 422 and never a 500."""

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StrictBool, WithJsonSchema

from ledgerlink.cashflow.models import InvoiceStatus, LineType, PaymentMethod

# --- input types ----------------------------------------------------------------------------------------


# Patterns spell digits [0-9]: `\d` in Python, pydantic and most JSON Schema validators also matches
# Arabic-Indic, fullwidth and other Unicode digits, which Decimal and date would then read as numbers.
ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def _decimal_string(pattern: str, example: str, what: str) -> object:
    """An Annotated Decimal that accepts only a JSON string matching `pattern`, documented as a string."""

    def parse(value: object) -> Decimal:
        if not isinstance(value, str) or not re.fullmatch(pattern, value, re.ASCII):
            raise ValueError(f'{what} as a decimal string, e.g. "{example}"')
        return Decimal(value)

    return Annotated[
        Decimal,
        BeforeValidator(parse),
        WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]}),
    ]


SignedMoney = _decimal_string(
    r"^-?[0-9]{1,9}(\.[0-9]{1,2})?$", "1250.00", "An amount with at most 2 decimal places"
)
PositiveMoney = _decimal_string(
    r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "500.00", "An amount with at most 2 decimal places"
)
Quantity = _decimal_string(r"^[0-9]{1,5}(\.[0-9]{1,4})?$", "1", "A quantity with at most 4 decimal places")
Percent = _decimal_string(r"^[0-9]{1,3}(\.[0-9]{1,4})?$", "10", "A percentage with at most 4 decimal places")
Kilowatts = _decimal_string(
    r"^[0-9]{1,6}(\.[0-9]{1,3})?$", "6.6", "A size in kW with at most 3 decimal places"
)
UnitAmount = _decimal_string(
    r"^-?[0-9]{1,9}(\.[0-9]{1,4})?$", "0.0275", "A unit amount with at most 4 decimal places (per watt)"
)


def _iso_date(value: object) -> object:
    """Only "YYYY-MM-DD": pydantic would also read 0 or "1700000000" as a Unix time, which no caller means."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(ISO_DATE, value, re.ASCII):
        raise ValueError("A date as YYYY-MM-DD.")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode.") from None
    return value


def bounded_text(max_length: int, min_length: int = 0, **schema: str) -> object:
    """A string the database can store, with length bounds (and `schema` keywords) shown in the OpenAPI."""
    bounds = Field(min_length=min_length, max_length=max_length, json_schema_extra=schema or None)
    return Annotated[str, bounds, AfterValidator(_storable)]


Name = bounded_text(255, 1)
# The services check the address (services.py, validate_email); the schema says so, for clients' generators.
Email = bounded_text(254, 3, format="email")
Phone = bounded_text(50)
AddressLine = bounded_text(255)
Place = bounded_text(100)
PostalCode = bounded_text(20)
CountryCode = bounded_text(2, pattern="^([A-Za-z]{2})?$")  # the services check it (services.py)
SiteAddress = bounded_text(500)
TaxRateName = bounded_text(100, 1)
Description = bounded_text(1000, 1)
Title = bounded_text(255)
CurrencyCode = bounded_text(3)
Reference = bounded_text(255)


# --- output types ---------------------------------------------------------------------------------------

MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["1250.00"]}),
]
DecimalOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value), return_type=str),
    WithJsonSchema({"type": "string", "examples": ["10.0000"]}),
]


class FieldErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ErrorsOut(Schema):
    """Bad input or a refused change: one entry per field, nothing was written."""

    detail: list[FieldErrorOut]


class MessageOut(Schema):
    """Not authenticated (401) or not found in your organisation (404)."""

    detail: str


# 400: the body is not JSON at all; 422: a field is wrong; 409: the object's state or the key forbids it.
ERROR_RESPONSES = {400: MessageOut, 401: MessageOut, 404: MessageOut, 409: ErrorsOut, 422: ErrorsOut}
READ_ERRORS = {401: MessageOut, 404: MessageOut, 422: ErrorsOut}


# --- customers, projects, tax rates ---------------------------------------------------------------------


class CustomerIn(Schema):
    name: Name
    email: Email
    phone: Phone = ""
    address_line1: AddressLine = ""
    address_line2: AddressLine = ""
    city: Place = ""
    region: Place = ""
    postal_code: PostalCode = ""
    country: CountryCode = Field("", description="ISO 3166 alpha-2")


class CustomerOut(Schema):
    id: uuid.UUID
    name: str
    email: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    created_at: dt.datetime


class ProjectIn(Schema):
    customer_id: uuid.UUID
    name: Name
    site_address: SiteAddress = ""
    system_size_kw: Kilowatts | None = None


class ProjectOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    site_address: str
    system_size_kw: DecimalOut | None
    created_at: dt.datetime


class TaxRateIn(Schema):
    name: TaxRateName = Field(..., examples=["GST 10%"])
    rate: Percent
    active: StrictBool = True


class TaxRateOut(Schema):
    id: uuid.UUID
    name: str
    rate: DecimalOut
    active: bool


# --- invoices -------------------------------------------------------------------------------------------

LineTypeName = Literal[tuple(LineType.values)]  # type: ignore[valid-type]
MethodName = Literal[tuple(PaymentMethod.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(InvoiceStatus.values)]  # type: ignore[valid-type]


class LineIn(Schema):
    line_type: LineTypeName
    description: Description
    quantity: Quantity = Field(default=Decimal(1))
    unit_amount: UnitAmount = Field(
        ..., description="In the invoice's tax mode (inclusive or exclusive); up to 4 places, e.g. per watt"
    )
    tax_rate_id: uuid.UUID


class InvoiceIn(Schema):
    customer_id: uuid.UUID
    project_id: uuid.UUID | None = None
    kind: Literal["milestone", "custom"]
    milestone_title: Title = ""
    issue_date: IsoDate | None = Field(None, description="Defaults to the day it is issued")
    due_date: IsoDate
    currency: CurrencyCode | None = Field(None, description="Defaults to the organisation's home currency")
    tax_inclusive: StrictBool
    reference: Reference = ""
    lines: list[LineIn] = Field(..., min_length=1, max_length=100)


UnitAmountOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}([0-9]{2})?$", "examples": ["1250.00", "0.0275"]}
    ),
]


class LineOut(Schema):
    position: int
    line_type: str
    description: str
    quantity: DecimalOut
    unit_amount: UnitAmountOut
    tax_rate_id: uuid.UUID
    tax_rate_percent: DecimalOut
    line_amount: MoneyOut
    tax: MoneyOut


class ReversalOut(Schema):
    id: uuid.UUID
    payment_id: uuid.UUID
    kind: str
    amount: MoneyOut
    occurred_on: dt.date
    reference: str
    created_at: dt.datetime


class PaymentOut(Schema):
    id: uuid.UUID
    invoice_id: uuid.UUID
    amount: MoneyOut
    method: str
    offline: bool
    status: str
    received_on: dt.date
    reference: str
    reversed_amount: MoneyOut
    remaining: MoneyOut
    reversals: list[ReversalOut]
    created_at: dt.datetime


class CreditNoteOut(Schema):
    id: uuid.UUID
    number: str
    amount: MoneyOut
    issued_on: dt.date


class InvoiceOut(Schema):
    id: uuid.UUID
    number: str | None = Field(description="Allocated when issued; null on a draft")
    kind: str
    milestone_title: str
    customer_id: uuid.UUID
    project_id: uuid.UUID | None
    issue_date: dt.date | None
    due_date: dt.date
    currency: str
    tax_inclusive: bool
    status: str
    subtotal: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    amount_paid: MoneyOut
    amount_credited: MoneyOut
    amount_due: MoneyOut
    reference: str
    lines: list[LineOut]
    payments: list[PaymentOut]
    credit_notes: list[CreditNoteOut]
    created_at: dt.datetime
    issued_at: dt.datetime | None
    cancelled_at: dt.datetime | None

    @staticmethod
    def resolve_number(invoice: object) -> str | None:
        return getattr(invoice, "number", "") or None


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class InvoicePage(Schema):
    items: list[InvoiceOut]
    count: int
    limit: int
    offset: int


class InvoiceFilter(PageQuery):
    status: StatusName | None = None
    customer_id: uuid.UUID | None = None
    issued_from: IsoDate | None = None
    issued_to: IsoDate | None = None
    due_from: IsoDate | None = None
    due_to: IsoDate | None = None


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int
    limit: int
    offset: int


class CustomerFilter(PageQuery):
    # Any text (an address the services would refuse simply matches no one), so no `format` here.
    email: bounded_text(254, 3) | None = Field(None, description="Exact match, ignoring case")  # type: ignore[valid-type]


# --- payments -------------------------------------------------------------------------------------------


class PaymentIn(Schema):
    amount: PositiveMoney
    method: MethodName
    received_on: IsoDate | None = Field(None, description="Defaults to today where the organisation is")
    reference: Reference = ""


class RefundIn(Schema):
    amount: PositiveMoney | None = Field(None, description="Omit to refund all that is left")
    reference: Reference = ""


class ReversalResult(Schema):
    reversal: ReversalOut
    payment: PaymentOut
