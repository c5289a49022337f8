"""The only way CashFlow records change.

Each function validates everything first (raising `errors.ValidationError` with field-level messages and
writing nothing), then makes its change and emits its domain event in one transaction, holding a row lock
(select_for_update) on the invoice, so concurrent issues, payments and reversals queue instead of racing.
Functions return fresh instances; an instance passed in may be stale afterwards.

Lock order is always invoice, then payment, then the number sequence, so two requests never deadlock.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone

from ledgerlink.cashflow import events
from ledgerlink.cashflow.errors import ConflictError, ErrorCollector, Loc, ValidationError
from ledgerlink.cashflow.models import (
    LINE_SIGNS,
    OFFLINE_METHODS,
    Country,
    CreditNote,
    Currency,
    Customer,
    EventKind,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineType,
    Membership,
    NumberSequence,
    Organisation,
    Payment,
    PaymentMethod,
    PaymentReversal,
    PaymentStatus,
    Project,
    ReversalKind,
    Role,
    TaxRate,
)
from ledgerlink.cashflow.money import (
    LineFigures,
    from_minor,
    has_unit_places,
    invoice_totals,
    is_whole_cents,
    line_figures,
    to_minor,
    to_unit_e4,
)

MAX_LINES = 100
# Unit amounts up to 10^9 and quantities up to 10^5 keep 100 lines well inside a 64-bit integer of cents.
MAX_UNIT_AMOUNT = Decimal("999999999.99")
MAX_QUANTITY = Decimal("99999.9999")
MAX_PAYMENT_AMOUNT = Decimal("999999999999.99")

COUNTRY_DEFAULTS: dict[str, tuple[str, str]] = {
    Country.AU: (Currency.AUD, "Australia/Sydney"),
    Country.US: (Currency.USD, "America/New_York"),
    Country.GB: (Currency.GBP, "Europe/London"),
    Country.NZ: (Currency.NZD, "Pacific/Auckland"),
}


# --- inputs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerInput:
    name: str
    email: str
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class LineInput:
    """One invoice line as submitted; `unit_amount` is in the invoice's tax mode."""

    line_type: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    tax_rate_id: uuid.UUID | str


@dataclass(frozen=True)
class InvoiceInput:
    customer_id: uuid.UUID | str
    kind: str
    due_date: dt.date
    tax_inclusive: bool
    lines: Sequence[LineInput]
    project_id: uuid.UUID | str | None = None
    milestone_title: str = ""
    issue_date: dt.date | None = None
    currency: str | None = None  # the organisation's home currency when omitted
    reference: str = ""


@dataclass(frozen=True)
class _PreparedLine:
    source: LineInput
    tax_rate: TaxRate
    unit_amount_e4: int
    figures: LineFigures


@dataclass(frozen=True)
class _PreparedInvoice:
    customer: Customer
    project: Project | None
    currency: str
    lines: tuple[_PreparedLine, ...]


# --- small helpers --------------------------------------------------------------------------------------


def organisation_today(organisation: Organisation) -> dt.date:
    """Today's date where the organisation is: invoices and payments are dated in its time zone."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def _find(model: type[models.Model], organisation: Organisation, object_id: object) -> models.Model | None:
    """The organisation's object with this id, or None (another organisation's id is simply not found)."""
    try:
        return model.objects.get(organisation=organisation, pk=uuid.UUID(str(object_id)))
    except (ValueError, model.DoesNotExist):
        return None


def _allocate_number(organisation: Organisation, kind: str, prefix: str) -> str:
    """The next document number, under a lock on the organisation's sequence row: never repeated."""
    NumberSequence.objects.get_or_create(organisation=organisation, kind=kind)
    sequence = NumberSequence.objects.select_for_update().get(organisation=organisation, kind=kind)
    number = sequence.next_value
    sequence.next_value = number + 1
    sequence.save(update_fields=["next_value"])
    return f"{prefix}-{number:05d}"


def _lock_invoice(invoice: Invoice) -> Invoice:
    # of=("self",): lock the invoice row only, not the organisation joined in for its time zone.
    return Invoice.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=invoice.pk)


def _lock_payment(payment: Payment) -> tuple[Invoice, Payment]:
    invoice = _lock_invoice(Invoice(pk=payment.invoice_id))
    return invoice, Payment.objects.select_for_update().get(pk=payment.pk)


def _check_text(errors: ErrorCollector, loc: Loc, value: str, *, required: bool, max_length: int) -> None:
    if required and not value.strip():
        errors.add(loc, "This field is required and may not be blank.")
    if len(value) > max_length:
        errors.add(loc, f"At most {max_length} characters.")


def _check_money(
    errors: ErrorCollector, loc: Loc, amount: Decimal, *, maximum: Decimal, positive: bool = False
) -> None:
    if not is_whole_cents(amount):
        errors.add(loc, "Amounts have at most two decimal places.")
    elif abs(amount) > maximum:
        errors.add(loc, f"At most {maximum} in absolute value.")
    elif positive and amount <= 0:
        errors.add(loc, "Greater than zero.")


def _check_unit_amount(errors: ErrorCollector, loc: Loc, amount: Decimal) -> None:
    """Unit amounts take four places (a price per watt or kWh); the line amount is still whole cents."""
    if not has_unit_places(amount):
        errors.add(loc, "Unit amounts have at most four decimal places.")
    elif abs(amount) > MAX_UNIT_AMOUNT:
        errors.add(loc, f"At most {MAX_UNIT_AMOUNT} in absolute value.")


# --- organisations, customers, projects, tax rates ------------------------------------------------------


def create_organisation(
    name: str,
    country: str,
    *,
    home_currency: str | None = None,
    time_zone: str | None = None,
    accounting_email: str = "",
) -> Organisation:
    """A new organisation; currency and time zone default from the country (AU -> AUD, Australia/Sydney)."""
    errors = ErrorCollector()
    _check_text(errors, ("name",), name, required=True, max_length=200)
    if country not in COUNTRY_DEFAULTS:
        errors.add(("country",), f"One of {', '.join(COUNTRY_DEFAULTS)}.")
        errors.raise_if_any()
    default_currency, default_zone = COUNTRY_DEFAULTS[country]
    home_currency = home_currency or default_currency
    time_zone = time_zone or default_zone
    if home_currency not in Currency.values:
        errors.add(("home_currency",), f"One of {', '.join(Currency.values)}.")
    if time_zone not in zoneinfo.available_timezones():
        errors.add(("time_zone",), "Not an IANA time zone name (e.g. Australia/Sydney).")
    if accounting_email:
        _check_email(errors, ("accounting_email",), accounting_email)
    errors.raise_if_any()
    return Organisation.objects.create(
        name=name.strip(),
        country=country,
        home_currency=home_currency,
        time_zone=time_zone,
        accounting_email=accounting_email,
    )


@dataclass(frozen=True)
class MembershipChange:
    """A user's role in an organisation before and after a change; None when not a member."""

    before: str | None
    after: str | None


def _locked_memberships(organisation: Organisation) -> dict[int, Membership]:
    """The organisation's memberships by user id, row-locked so two changes cannot both take the last
    admin away."""
    return {m.user_id: m for m in Membership.objects.select_for_update().filter(organisation=organisation)}


def _keep_an_admin(memberships: dict[int, Membership], leaving: Membership) -> None:
    """Only admins may connect a ledger or map accounts: an organisation never loses its last one."""
    admins = [m for m in memberships.values() if m.role == Role.ADMIN]
    if admins == [leaving]:
        raise ConflictError(
            f"{leaving.user} is the last admin of {leaving.organisation}: make another member admin first.",
            loc=("role",),
        )


def set_membership(organisation: Organisation, user: models.Model, role: str) -> MembershipChange:
    """Add `user` to `organisation` with `role`, or change their role; the same role changes nothing."""
    if role not in Role.values:
        raise ValidationError(f"One of {', '.join(Role.values)}.", loc=("role",))
    with transaction.atomic():
        memberships = _locked_memberships(organisation)
        current = memberships.get(user.pk)
        if current is None:
            Membership.objects.create(user=user, organisation=organisation, role=role)
            return MembershipChange(None, role)
        before = current.role
        if before != role:
            _keep_an_admin(memberships, current)
            current.role = role
            current.save(update_fields=["role"])
        return MembershipChange(before, role)


def remove_membership(organisation: Organisation, user: models.Model) -> MembershipChange:
    """Take `user` out of `organisation`; not being a member changes nothing."""
    with transaction.atomic():
        memberships = _locked_memberships(organisation)
        current = memberships.get(user.pk)
        if current is None:
            return MembershipChange(None, None)
        _keep_an_admin(memberships, current)
        current.delete()
        return MembershipChange(current.role, None)


def _check_email(errors: ErrorCollector, loc: Loc, email: str) -> None:
    try:
        validate_email(email)
    except DjangoValidationError:
        errors.add(loc, "Enter a valid email address.")
    else:
        if len(email) > 254:  # RFC 5321's limit, and the column's
            errors.add(loc, "At most 254 characters.")


def create_customer(organisation: Organisation, data: CustomerInput) -> Customer:
    """A customer of the organisation. Ledgers match contacts by email, so it is required."""
    errors = ErrorCollector()
    _check_text(errors, ("name",), data.name, required=True, max_length=255)
    _check_email(errors, ("email",), data.email)
    limits = {
        "phone": 50,
        "address_line1": 255,
        "address_line2": 255,
        "city": 100,
        "region": 100,
        "postal_code": 20,
    }
    for name, max_length in limits.items():
        _check_text(errors, (name,), getattr(data, name), required=False, max_length=max_length)
    # ASCII letters only: str.isalpha() also takes "ÄÖ" or "中国", which no ledger knows as a country.
    if data.country and not re.fullmatch(r"[A-Za-z]{2}", data.country, re.ASCII):
        errors.add(("country",), "A two-letter ISO country code, e.g. AU.")
    errors.raise_if_any()
    fields = {name: getattr(data, name) for name in CustomerInput.__dataclass_fields__}
    fields["name"] = data.name.strip()
    fields["country"] = data.country.upper()
    return Customer.objects.create(organisation=organisation, **fields)


def create_project(
    organisation: Organisation,
    customer_id: uuid.UUID | str,
    name: str,
    *,
    site_address: str = "",
    system_size_kw: Decimal | None = None,
) -> Project:
    """A solar installation for one of the organisation's customers."""
    errors = ErrorCollector()
    customer = _find(Customer, organisation, customer_id)
    if customer is None:
        errors.add(("customer_id",), "No such customer in this organisation.")
    _check_text(errors, ("name",), name, required=True, max_length=255)
    _check_text(errors, ("site_address",), site_address, required=False, max_length=500)
    if system_size_kw is not None:
        system_size_kw = system_size_kw.quantize(Decimal("0.001"))
        if not Decimal(0) < system_size_kw < Decimal(1_000_000):
            errors.add(("system_size_kw",), "Between 0 and 1,000,000 kW, exclusive.")
    errors.raise_if_any()
    return Project.objects.create(
        organisation=organisation,
        customer=customer,
        name=name.strip(),
        site_address=site_address,
        system_size_kw=system_size_kw,
    )


def create_tax_rate(organisation: Organisation, name: str, rate: Decimal, *, active: bool = True) -> TaxRate:
    """A CashFlow tax rate ("GST 10%", rate=Decimal("10")); names are unique per organisation."""
    errors = ErrorCollector()
    _check_text(errors, ("name",), name, required=True, max_length=100)
    if not (rate.is_finite() and Decimal(0) <= rate <= Decimal(100)):
        errors.add(("rate",), "A percentage from 0 to 100.")
    elif rate != rate.quantize(Decimal("0.0001")):
        errors.add(("rate",), "At most four decimal places.")
    if TaxRate.objects.filter(organisation=organisation, name=name.strip()).exists():
        errors.add(("name",), "This organisation already has a tax rate with this name.")
    errors.raise_if_any()
    return TaxRate.objects.create(
        organisation=organisation, name=name.strip(), rate=rate.quantize(Decimal("0.0001")), active=active
    )


# --- invoices -------------------------------------------------------------------------------------------


def _prepare_line(
    errors: ErrorCollector, organisation: Organisation, index: int, line: LineInput, tax_inclusive: bool
) -> _PreparedLine | None:
    loc: Loc = ("lines", index)
    before = len(errors.errors)
    if line.line_type not in LineType.values:
        errors.add((*loc, "line_type"), f"Unknown line type; one of {', '.join(LineType.values)}.")
    _check_text(errors, (*loc, "description"), line.description, required=True, max_length=1000)
    if not (line.quantity.is_finite() and Decimal(0) < line.quantity <= MAX_QUANTITY):
        errors.add((*loc, "quantity"), f"Greater than 0 and at most {MAX_QUANTITY}.")
    elif line.quantity != line.quantity.quantize(Decimal("0.0001")):
        errors.add((*loc, "quantity"), "At most four decimal places.")
    _check_unit_amount(errors, (*loc, "unit_amount"), line.unit_amount)
    tax_rate = _find(TaxRate, organisation, line.tax_rate_id)
    if tax_rate is None or not tax_rate.active:
        errors.add((*loc, "tax_rate_id"), "No such active tax rate in this organisation.")
    if len(errors.errors) > before:
        return None
    unit_e4 = to_unit_e4(line.unit_amount)
    figures = line_figures(line.quantity, unit_e4, tax_rate.rate, tax_inclusive)
    sign = LINE_SIGNS[line.line_type]
    if sign * figures.line_amount_minor < 0:
        word = "negative" if sign > 0 else "positive"
        errors.add(
            (*loc, "unit_amount"), f"A {line.line_type} line cannot be {word} (cashflow.md line types)."
        )
        return None
    return _PreparedLine(line, tax_rate, unit_e4, figures)


def _prepare_invoice(organisation: Organisation, data: InvoiceInput) -> _PreparedInvoice:
    errors = ErrorCollector()
    customer = _find(Customer, organisation, data.customer_id)
    if customer is None:
        errors.add(("customer_id",), "No such customer in this organisation.")
    project = None
    if data.project_id is not None:
        project = _find(Project, organisation, data.project_id)
        if project is None or (customer is not None and project.customer_id != customer.pk):
            errors.add(("project_id",), "No such project for this customer in this organisation.")
    if data.kind not in InvoiceKind.values:
        errors.add(("kind",), f"One of {', '.join(InvoiceKind.values)}.")
    if data.kind == InvoiceKind.MILESTONE:
        _check_text(errors, ("milestone_title",), data.milestone_title, required=True, max_length=255)
        if data.project_id is None:
            errors.add(("project_id",), "A milestone invoice belongs to a project.")
    currency = (data.currency or organisation.home_currency).upper()
    if not organisation.uses_currency(currency):
        errors.add(("currency",), f"This organisation invoices in {organisation.home_currency} only.")
    if data.issue_date is not None and data.due_date < data.issue_date:
        errors.add(("due_date",), "The due date cannot be before the issue date.")
    _check_text(errors, ("reference",), data.reference, required=False, max_length=255)
    if not data.lines:
        errors.add(("lines",), "An invoice needs at least one line.")
    if len(data.lines) > MAX_LINES:
        errors.add(("lines",), f"At most {MAX_LINES} lines.")
    lines = [
        _prepare_line(errors, organisation, index, line, data.tax_inclusive)
        for index, line in enumerate(data.lines)
    ]
    errors.raise_if_any()
    prepared = tuple(line for line in lines if line is not None)
    return _PreparedInvoice(customer, project, currency, prepared)


def create_invoice(organisation: Organisation, data: InvoiceInput) -> Invoice:
    """A draft invoice with its lines and totals. The number is allocated when it is issued."""
    prepared = _prepare_invoice(organisation, data)
    totals = invoice_totals([line.figures for line in prepared.lines], data.tax_inclusive)
    if totals.total_minor < 0:
        raise ValidationError(
            f"The invoice total cannot be negative ({from_minor(totals.total_minor)}).", ("lines",)
        )
    with transaction.atomic():
        invoice = Invoice.objects.create(
            organisation=organisation,
            customer=prepared.customer,
            project=prepared.project,
            kind=data.kind,
            milestone_title=data.milestone_title,
            issue_date=data.issue_date,
            due_date=data.due_date,
            currency=prepared.currency,
            tax_inclusive=data.tax_inclusive,
            reference=data.reference,
            subtotal_minor=totals.subtotal_minor,
            tax_minor=totals.tax_minor,
            total_minor=totals.total_minor,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                line_type=line.source.line_type,
                description=line.source.description,
                quantity=line.source.quantity,
                unit_amount_e4=line.unit_amount_e4,
                tax_rate=line.tax_rate,
                tax_rate_percent=line.tax_rate.rate,
                line_amount_minor=line.figures.line_amount_minor,
                tax_minor=line.figures.tax_minor,
            )
            for position, line in enumerate(prepared.lines, start=1)
        )
    return invoice


def _settle_status(invoice: Invoice) -> None:
    """issued / part_paid / paid from what has been paid; drafts and cancelled invoices keep theirs."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED):
        return
    if invoice.amount_paid_minor >= invoice.total_minor:
        invoice.status = InvoiceStatus.PAID
    elif invoice.amount_paid_minor > 0:
        invoice.status = InvoiceStatus.PART_PAID
    else:
        invoice.status = InvoiceStatus.ISSUED


def issue_invoice(invoice: Invoice, *, issue_date: dt.date | None = None) -> Invoice:
    """Send a draft: allocate its number, date it (today where the organisation is, unless the draft or
    `issue_date` says otherwise) and emit invoice.issued. A zero-total invoice is paid on issue."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status != InvoiceStatus.DRAFT:
            raise ConflictError(f"Only a draft can be issued; this invoice is {invoice.status}.", ("status",))
        today = organisation_today(invoice.organisation)
        invoice.issue_date = issue_date or invoice.issue_date or today
        if invoice.issue_date > today:
            raise ConflictError(
                f"The issue date ({invoice.issue_date}) is after today ({today}) where the organisation is; "
                "an invoice is dated the day it is sent.",
                ("issue_date",),
            )
        if invoice.due_date < invoice.issue_date:
            raise ConflictError(
                f"The due date is before the issue date ({invoice.issue_date}); cancel this draft and "
                "create one with a later due date.",
                ("due_date",),
            )
        invoice.number = _allocate_number(invoice.organisation, NumberSequence.Kind.INVOICE, "INV")
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_at = timezone.now()
        _settle_status(invoice)
        invoice.save()
        events.emit(
            invoice.organisation,
            EventKind.INVOICE_ISSUED,
            invoice,
            number=invoice.number,
            total=str(invoice.total),
            currency=invoice.currency,
        )
    return invoice


def _credit(invoice: Invoice, amount_minor: int, issued_on: dt.date) -> CreditNote:
    number = _allocate_number(invoice.organisation, NumberSequence.Kind.CREDIT_NOTE, "CN")
    invoice.amount_credited_minor += amount_minor
    return CreditNote.objects.create(
        organisation=invoice.organisation,
        invoice=invoice,
        number=number,
        amount_minor=amount_minor,
        issued_on=issued_on,
    )


def cancel_invoice(invoice: Invoice, *, cancelled_on: dt.date | None = None) -> CreditNote | None:
    """Cancel an invoice. An issued one gets a credit note (dated `cancelled_on`, default today) for its
    unpaid balance and emits invoice.cancelled; a draft (never sent, never synced) is just marked
    cancelled and returns None. A fully paid invoice is refused: refund its payments first."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status == InvoiceStatus.CANCELLED:
            raise ConflictError("This invoice is already cancelled.", ("status",))
        if invoice.status == InvoiceStatus.PAID:
            raise ConflictError(
                "A fully paid invoice cannot be cancelled; refund its payments first.", ("status",)
            )
        was_draft = invoice.status == InvoiceStatus.DRAFT
        invoice.status = InvoiceStatus.CANCELLED
        invoice.cancelled_at = timezone.now()
        if was_draft:
            invoice.save()
            return None
        unpaid = invoice.total_minor - invoice.amount_paid_minor
        credit_note = _credit(invoice, unpaid, _event_date(invoice, cancelled_on, invoice.issue_date))
        invoice.save()
        events.emit(
            invoice.organisation,
            EventKind.INVOICE_CANCELLED,
            invoice,
            number=invoice.number,
            credit_note_id=str(credit_note.pk),
            credit_note_number=credit_note.number,
            credit_amount=str(credit_note.amount),
            amount_paid=str(invoice.amount_paid),
        )
    return credit_note


# --- payments -------------------------------------------------------------------------------------------


def record_payment(
    invoice: Invoice,
    amount: Decimal,
    method: str,
    *,
    received_on: dt.date | None = None,
    reference: str = "",
) -> Payment:
    """Money received against an issued invoice; refused above the amount due. Emits payment.received."""
    errors = ErrorCollector()
    _check_money(errors, ("amount",), amount, maximum=MAX_PAYMENT_AMOUNT, positive=True)
    if method not in PaymentMethod.values:
        errors.add(("method",), f"One of {', '.join(PaymentMethod.values)}.")
    _check_text(errors, ("reference",), reference, required=False, max_length=255)
    errors.raise_if_any()
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        today = organisation_today(invoice.organisation)
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED):
            raise ConflictError(
                f"Payments apply to issued invoices; this one is {invoice.status}.", ("status",)
            )
        amount_minor = to_minor(amount)
        if amount_minor > invoice.amount_due_minor:
            raise ValidationError(f"More than is due ({invoice.amount_due} {invoice.currency}).", ("amount",))
        if received_on is not None and received_on > today:
            raise ValidationError("A payment cannot be received in the future.", ("received_on",))
        payment = Payment.objects.create(
            organisation=invoice.organisation,
            invoice=invoice,
            amount_minor=amount_minor,
            method=method,
            received_on=received_on or today,
            reference=reference,
        )
        invoice.amount_paid_minor += amount_minor
        _settle_status(invoice)
        invoice.save()
        events.emit(
            invoice.organisation,
            EventKind.PAYMENT_RECEIVED,
            payment,
            invoice_id=str(invoice.pk),
            invoice_number=invoice.number,
            amount=str(payment.amount),
            method=method,
            offline=payment.offline,
        )
    return payment


_REVERSAL_OUTCOME = {
    ReversalKind.CHARGEBACK: (PaymentStatus.CHARGED_BACK, EventKind.PAYMENT_CHARGED_BACK),
    ReversalKind.UNDO: (PaymentStatus.UNDONE, EventKind.PAYMENT_UNDONE),
}


def _event_date(invoice: Invoice, given: dt.date | None, earliest: dt.date) -> dt.date:
    """`given` (default: today where the organisation is), refused in the future or before `earliest`."""
    today = organisation_today(invoice.organisation)
    if given is None:
        return today
    if given > today:
        raise ValidationError("This date is in the future.", ("date",))
    if given < earliest:
        raise ValidationError(f"This date is before {earliest}.", ("date",))
    return given


def _reverse(
    payment: Payment, kind: ReversalKind, amount: Decimal | None, reference: str, occurred_on: dt.date | None
) -> PaymentReversal:
    """Take money back from a payment (the caller has checked the kind is allowed for its method).
    On a cancelled invoice a credit note covers the reversed money, so its balance stays at zero."""
    errors = ErrorCollector()
    _check_text(errors, ("reference",), reference, required=False, max_length=255)
    errors.raise_if_any()
    with transaction.atomic():
        invoice, payment = _lock_payment(payment)
        if payment.remaining_minor == 0 or payment.status in (
            PaymentStatus.CHARGED_BACK,
            PaymentStatus.UNDONE,
        ):
            raise ConflictError(
                f"Nothing is left of this payment to reverse ({payment.status}).", ("status",)
            )
        amount_minor = payment.remaining_minor if amount is None else to_minor(amount)
        if amount_minor > payment.remaining_minor:
            raise ValidationError(f"More than is left of this payment ({payment.remaining}).", ("amount",))
        today = _event_date(invoice, occurred_on, payment.received_on)
        reversal = PaymentReversal.objects.create(
            organisation=invoice.organisation,
            payment=payment,
            kind=kind,
            amount_minor=amount_minor,
            occurred_on=today,
            reference=reference,
        )
        payment.reversed_minor += amount_minor
        if kind == ReversalKind.REFUND:
            full = payment.remaining_minor == 0
            payment.status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
            event_kind = EventKind.PAYMENT_REFUNDED
        else:
            payment.status, event_kind = _REVERSAL_OUTCOME[kind]
        payment.save()
        invoice.amount_paid_minor -= amount_minor
        credit_note = (
            _credit(invoice, amount_minor, today) if invoice.status == InvoiceStatus.CANCELLED else None
        )
        _settle_status(invoice)
        invoice.save()
        events.emit(
            invoice.organisation,
            event_kind,
            reversal,
            payment_id=str(payment.pk),
            invoice_id=str(invoice.pk),
            invoice_number=invoice.number,
            amount=str(reversal.amount),
            remaining=str(payment.remaining),
            credit_note_id=str(credit_note.pk) if credit_note else None,
        )
    return reversal


def refund_payment(
    payment: Payment,
    amount: Decimal | None = None,
    *,
    reference: str = "",
    occurred_on: dt.date | None = None,
) -> PaymentReversal:
    """Refund part (`amount`) or all (None) of what is left of a payment; the invoice's balance reopens."""
    if amount is not None:
        errors = ErrorCollector()
        _check_money(errors, ("amount",), amount, maximum=MAX_PAYMENT_AMOUNT, positive=True)
        errors.raise_if_any()
    return _reverse(payment, ReversalKind.REFUND, amount, reference, occurred_on)


def charge_back(
    payment: Payment, *, reference: str = "", occurred_on: dt.date | None = None
) -> PaymentReversal:
    """The customer's bank took back what is left of an electronic payment (card, bank, finance)."""
    if payment.method in OFFLINE_METHODS:
        raise ConflictError(
            "Cash and cheque payments cannot be charged back; undo them instead.", ("method",)
        )
    return _reverse(payment, ReversalKind.CHARGEBACK, None, reference, occurred_on)


def undo_offline_payment(
    payment: Payment, *, reference: str = "", occurred_on: dt.date | None = None
) -> PaymentReversal:
    """Remove an offline (cash or cheque) payment that was recorded by mistake or bounced."""
    if payment.method not in OFFLINE_METHODS:
        raise ConflictError("Only cash and cheque payments can be undone; refund this one.", ("method",))
    return _reverse(payment, ReversalKind.UNDO, None, reference, occurred_on)
