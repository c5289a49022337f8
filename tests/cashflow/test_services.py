"""The invoice and payment lifecycle through the services: numbering, totals, refusals, reversals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.cashflow.errors import ConflictError, ValidationError
from ledgerlink.cashflow.models import (
    CreditNote,
    DomainEvent,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentStatus,
)

from .helpers import make_invoice

D = Decimal


def _locs(error: ValidationError) -> set[tuple]:
    return {e.loc for e in error.errors}


def _draft(organisation, customer, lines, *, inclusive=True, **overrides):
    data = services.InvoiceInput(
        customer_id=customer.pk,
        kind=overrides.pop("kind", "custom"),
        due_date=dt.date.today() + dt.timedelta(days=30),
        tax_inclusive=inclusive,
        lines=tuple(services.LineInput(*line) for line in lines),
        **overrides,
    )
    return services.create_invoice(organisation, data)


def test_numbers_are_allocated_on_issue_in_sequence_per_organisation(organisation, customer, gst):
    drafts = [make_invoice(organisation, customer, gst, issue=False) for _ in range(3)]
    assert all(d.number == "" for d in drafts)
    assert services.issue_invoice(drafts[2]).number == "INV-00001"
    assert services.issue_invoice(drafts[0]).number == "INV-00002"
    services.cancel_invoice(drafts[1])  # a cancelled draft never takes a number
    assert make_invoice(organisation, customer, gst).number == "INV-00003"
    other = services.create_organisation("Other Co", "GB")
    other_rate = services.create_tax_rate(other, "VAT 20%", D(20))
    other_customer = services.create_customer(other, services.CustomerInput("Bob", "bob@example.com"))
    assert make_invoice(other, other_customer, other_rate).number == "INV-00001"


def test_us_exclusive_invoice_with_every_sign_of_line(organisation, customer):
    us = services.create_organisation("Desert Sun LLC", "US")
    sales_tax = services.create_tax_rate(us, "Sales tax 8.25%", D("8.25"))
    exempt = services.create_tax_rate(us, "Exempt", D(0))
    buyer = services.create_customer(us, services.CustomerInput("Carol", "carol@example.com"))
    invoice = _draft(
        us,
        buyer,
        [
            ("system", "8 kW system", D(1), D("24000.00"), sales_tax.pk),
            ("adder", "Trenching 40 ft", D(40), D("12.35"), sales_tax.pk),
            ("adder", "Loyalty adjustment", D(1), D("-100.00"), sales_tax.pk),
            ("discount", "Spring promo", D(1), D("-500.00"), sales_tax.pk),
            ("incentive", "State rebate", D(1), D("-1000.00"), exempt.pk),
            ("fee", "Permit", D(1), D("350.00"), exempt.pk),
        ],
        inclusive=False,
    )
    lines = list(invoice.lines.order_by("position"))
    assert [line.line_amount for line in lines] == [
        D("24000.00"),
        D("494.00"),
        D("-100.00"),
        D("-500.00"),
        D("-1000.00"),
        D("350.00"),
    ]
    # 8.25% per line, rounded half up: 1980.00, 40.755 -> 40.76, -8.25, -41.25
    assert [line.tax for line in lines] == [D("1980.00"), D("40.76"), D("-8.25"), D("-41.25"), D(0), D(0)]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (D("23244.00"), D("1971.26"), D("25215.26"))


def test_inclusive_totals_take_the_tax_out(organisation, customer, gst, gst_free):
    invoice = _draft(
        organisation,
        customer,
        [
            ("system", "6.6 kW", D(1), D("9999.99"), gst.pk),
            ("incentive", "STC discount", D(1), D("-2500.00"), gst_free.pk),
            ("surcharge", "Card surcharge 1.5%", D(1), D("112.50"), gst.pk),
        ],
    )
    assert invoice.total == D("7612.49")
    assert invoice.tax == D("909.09") + D("10.23")
    assert invoice.subtotal == invoice.total - invoice.tax


def test_a_negative_total_is_refused_and_nothing_is_written(organisation, customer, gst):
    with pytest.raises(ValidationError) as refused:
        _draft(
            organisation,
            customer,
            [
                ("service", "Call-out", D(1), D("100.00"), gst.pk),
                ("discount", "Goodwill", D(1), D("-150.00"), gst.pk),
            ],
        )
    assert _locs(refused.value) == {("lines",)}
    assert not Invoice.objects.exists() and not InvoiceLine.objects.exists()


@pytest.mark.parametrize(
    ("line_type", "unit_amount"),
    [("discount", "10.00"), ("incentive", "1.00"), ("system", "-1.00"), ("surcharge", "-0.01")],
)
def test_line_signs_follow_the_taxonomy(organisation, customer, gst, line_type, unit_amount):
    with pytest.raises(ValidationError) as refused:
        _draft(
            organisation,
            customer,
            [("system", "System", D(1), D("5000"), gst.pk), (line_type, "x", D(1), D(unit_amount), gst.pk)],
        )
    assert _locs(refused.value) == {("lines", 1, "unit_amount")}


def test_every_bad_field_is_reported_at_once(organisation, customer, gst):
    other = services.create_organisation("Other", "GB")
    foreign_rate = services.create_tax_rate(other, "VAT 20%", D(20))
    inactive = services.create_tax_rate(organisation, "Old GST", D(10), active=False)
    with pytest.raises(ValidationError) as refused:
        _draft(
            organisation,
            customer,
            [
                ("solar", "Unknown type", D(1), D("1.00"), gst.pk),
                ("system", " ", D(0), D("1.00001"), foreign_rate.pk),  # five places
                ("system", "Inactive rate", D(1), D("1.00"), inactive.pk),
            ],
            kind="milestone",
            currency="USD",
        )
    assert _locs(refused.value) == {
        ("lines", 0, "line_type"),
        ("lines", 1, "description"),
        ("lines", 1, "quantity"),
        ("lines", 1, "unit_amount"),
        ("lines", 1, "tax_rate_id"),
        ("lines", 2, "tax_rate_id"),
        ("milestone_title",),
        ("project_id",),
        ("currency",),
    }


def test_a_milestone_invoice_names_a_project_of_its_customer(organisation, customer, gst):
    someone_else = services.create_customer(organisation, services.CustomerInput("Eve", "eve@example.com"))
    project = services.create_project(organisation, someone_else.pk, "Eve's roof", system_size_kw=D("6.6"))
    lines = [("milestone", "Deposit", D(1), D("2000"), gst.pk)]
    with pytest.raises(ValidationError) as refused:
        _draft(
            organisation, customer, lines, kind="milestone", milestone_title="Deposit", project_id=project.pk
        )
    assert _locs(refused.value) == {("project_id",)}
    own = services.create_project(organisation, customer.pk, "Ada's roof")
    invoice = _draft(
        organisation, customer, lines, kind="milestone", milestone_title="Deposit", project_id=own.pk
    )
    assert invoice.project == own


def test_payments_move_the_invoice_through_part_paid_to_paid(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="1000.00")
    services.record_payment(invoice, D("400.00"), "bank_transfer")
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.PART_PAID
    with pytest.raises(ValidationError) as refused:
        services.record_payment(invoice, D("600.01"), "card")
    assert _locs(refused.value) == {("amount",)}
    services.record_payment(invoice, D("600.00"), "cheque")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", D("1000.00"), D("0.00"))
    with pytest.raises(ValidationError):
        services.record_payment(invoice, D("0.01"), "cash")


@pytest.mark.parametrize(
    ("amount", "received_on", "loc"),
    [
        ("0", None, ("amount",)),
        ("-5", None, ("amount",)),
        ("1.005", None, ("amount",)),
        ("10", dt.date.today() + dt.timedelta(days=3), ("received_on",)),
    ],
)
def test_bad_payments_are_refused(organisation, customer, gst, amount, received_on, loc):
    invoice = make_invoice(organisation, customer, gst)
    with pytest.raises(ValidationError) as refused:
        services.record_payment(invoice, D(amount), "card", received_on=received_on)
    assert loc in _locs(refused.value)
    invoice.refresh_from_db()
    assert invoice.amount_paid_minor == 0 and not invoice.payments.exists()


def test_a_draft_takes_no_payment(organisation, customer, gst):
    draft = make_invoice(organisation, customer, gst, issue=False)
    with pytest.raises(ConflictError):
        services.record_payment(draft, D("1"), "card")


def test_refunds_reopen_the_balance(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="500.00")
    payment = services.record_payment(invoice, D("500.00"), "card")
    services.refund_payment(payment, D("120.50"))
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, payment.remaining) == (PaymentStatus.PARTIALLY_REFUNDED, D("379.50"))
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PART_PAID, D("120.50"))
    with pytest.raises(ValidationError):
        services.refund_payment(payment, D("379.51"))
    services.refund_payment(payment)
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.status, payment.remaining) == (PaymentStatus.REFUNDED, D("0.00"))
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.ISSUED, D("500.00"))
    with pytest.raises(ConflictError):
        services.refund_payment(payment)


def test_chargebacks_and_undo_by_method(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    card = services.record_payment(invoice, D("100"), "card")
    cash = services.record_payment(invoice, D("100"), "cash")
    with pytest.raises(ConflictError):
        services.charge_back(cash)
    with pytest.raises(ConflictError):
        services.undo_offline_payment(card)
    services.refund_payment(card, D("30"))
    chargeback = services.charge_back(card)
    assert chargeback.amount == D("70.00")
    services.undo_offline_payment(cash)
    with pytest.raises(ConflictError):
        services.charge_back(card)
    statuses = {p.method: p.status for p in invoice.payments.all()}
    assert statuses == {"card": PaymentStatus.CHARGED_BACK, "cash": PaymentStatus.UNDONE}
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("0.00") and invoice.status == InvoiceStatus.ISSUED


def test_cancelling_credits_the_unpaid_balance(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="1100.00")
    services.record_payment(invoice, D("300.00"), "card")
    credit_note = services.cancel_invoice(invoice)
    assert (credit_note.number, credit_note.amount) == ("CN-00001", D("800.00"))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED and invoice.number == "INV-00001"
    assert invoice.amount_due == D(0)
    event = DomainEvent.objects.get(kind="invoice.cancelled")
    assert event.payload["credit_note_id"] == str(credit_note.pk)
    with pytest.raises(ConflictError):
        services.cancel_invoice(invoice)


def test_money_reversed_after_cancellation_is_credited_too(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="1000.00")
    payment = services.record_payment(invoice, D("250.00"), "card")
    services.cancel_invoice(invoice)
    services.refund_payment(payment, D("250.00"))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED
    assert list(CreditNote.objects.order_by("number").values_list("number", "amount_minor")) == [
        ("CN-00001", 75000),
        ("CN-00002", 25000),
    ]
    # Credited + still paid = total: the ledger's invoice stays at zero due.
    assert invoice.amount_credited_minor + invoice.amount_paid_minor == invoice.total_minor


def test_a_paid_invoice_cannot_be_cancelled(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="10.00")
    services.record_payment(invoice, D("10.00"), "finance")
    with pytest.raises(ConflictError) as refused:
        services.cancel_invoice(invoice)
    assert "refund" in refused.value.errors[0].msg
    assert not CreditNote.objects.exists()


def test_a_zero_invoice_is_paid_when_issued(organisation, customer, gst):
    invoice = _draft(
        organisation,
        customer,
        [("system", "System", D(1), D("100"), gst.pk), ("discount", "Free", D(1), D("-100"), gst.pk)],
    )
    assert services.issue_invoice(invoice).status == InvoiceStatus.PAID


def test_issue_checks_the_state_and_the_dates(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    with pytest.raises(ConflictError):
        services.issue_invoice(invoice)
    late = make_invoice(organisation, customer, gst, issue=False)
    Invoice.objects.filter(pk=late.pk).update(due_date=dt.date(2020, 1, 1))
    with pytest.raises(ConflictError) as refused:
        services.issue_invoice(late)
    assert _locs(refused.value) == {("due_date",)}
    early = make_invoice(
        organisation, customer, gst, issue=False, issue_date=dt.date.today() + dt.timedelta(days=3)
    )
    with pytest.raises(ConflictError) as refused:
        services.issue_invoice(early)
    assert _locs(refused.value) == {("issue_date",)}


def test_organisation_defaults_follow_the_country(db):
    for country, currency, zone in [
        ("AU", "AUD", "Australia/Sydney"),
        ("US", "USD", "America/New_York"),
        ("GB", "GBP", "Europe/London"),
        ("NZ", "NZD", "Pacific/Auckland"),
    ]:
        org = services.create_organisation(f"Org {country}", country)
        assert (org.home_currency, org.time_zone) == (currency, zone)
    with pytest.raises(ValidationError) as refused:
        services.create_organisation(" ", "FR")
    assert _locs(refused.value) == {("name",), ("country",)}


def test_customers_need_a_valid_email(organisation):
    with pytest.raises(ValidationError) as refused:
        services.create_customer(organisation, services.CustomerInput("Ada", "not-an-email", country="AUS"))
    assert _locs(refused.value) == {("email",), ("country",)}


def test_tax_rate_names_are_unique_per_organisation(organisation, gst):
    with pytest.raises(ValidationError) as refused:
        services.create_tax_rate(organisation, "GST 10%", D(10))
    assert _locs(refused.value) == {("name",)}
    with pytest.raises(ValidationError):
        services.create_tax_rate(organisation, "Too much", D("100.5"))
