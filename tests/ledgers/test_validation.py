"""Pre-flight over the cached chart: each problem tied to its mapping field, in plain words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers.contract import (
    AccountRef,
    Chart,
    LedgerAccount,
    LedgerTaxRate,
    PaymentReversal,
    TaxRateMapping,
)
from ledgerlink.ledgers.validation import Labels, Problem, document_problems, mapping_problems, needed_fields

from . import documents as d

CHART = Chart(
    accounts=(
        LedgerAccount(
            "acc-sales", "200", "Sales", "REVENUE", "ACTIVE", is_revenue=True, accepts_payments=False
        ),
        LedgerAccount(
            "acc-old", "201", "Old sales", "REVENUE", "ARCHIVED", is_revenue=True, accepts_payments=False
        ),
        LedgerAccount(
            "acc-exp", "300", "Expenses", "EXPENSE", "ACTIVE", is_revenue=False, accepts_payments=False
        ),
        LedgerAccount("acc-bank", "090", "Bank", "BANK", "ACTIVE", is_revenue=False, accepts_payments=True),
        LedgerAccount(
            "acc-clearing", "610", "Card clearing", "CURRLIAB", "ACTIVE", False, accepts_payments=True
        ),
        LedgerAccount("acc-debtors", "620", "Debtors", "CURRENT", "ACTIVE", False, accepts_payments=False),
    ),
    tax_rates=(
        LedgerTaxRate("OUTPUT", "GST on Income", Decimal(10), "ACTIVE", applies_to_revenue=True),
        LedgerTaxRate("EXEMPTOUTPUT", "GST Free Income", Decimal(0), "ACTIVE", applies_to_revenue=True),
        LedgerTaxRate("INPUT", "GST on Expenses", Decimal(10), "ACTIVE", applies_to_revenue=False),
        LedgerTaxRate("OLD", "Old GST", Decimal(10), "ARCHIVED", applies_to_revenue=True),
    ),
)
LABELS = Labels("Xero", {d.GST: "GST 10%"})
FIELD = f"tax_rate:{d.GST}"


def test_a_well_mapped_invoice_and_payment_have_no_problems():
    mapping = d.mapping()
    assert document_problems(d.invoice(), mapping, CHART, LABELS) == []
    assert document_problems(d.payment(method="bank_transfer"), mapping, CHART, LABELS) == []  # the default


def test_needed_fields_follow_the_lines_and_the_payment_method():
    invoice = d.invoice(lines=(d.line("10.00", "1.00"), d.line("5.00", "0.50", line_type="fee")))
    mapping = d.mapping(line_accounts={"fee": AccountRef("acc-sales", "200")})
    assert needed_fields(invoice, mapping) == [
        f"{FIELD}.tax_code",
        f"{FIELD}.account",
        "line_type:fee.account",
    ]
    assert needed_fields(d.payment(method="cash"), mapping) == ["payment:cash.account"]
    full_refund = PaymentReversal("r", d.payment(), Decimal("500.00"), Decimal(0), d.ISSUED, "refund")
    assert needed_fields(full_refund, mapping) == []  # a deleted payment needs no account
    assert needed_fields(d.cancellation(d.invoice(), "1100.00", "0"), mapping) == []  # a void needs none


@pytest.mark.parametrize(
    ("mapping", "problem"),
    [
        (
            d.mapping(tax_rates={}),
            Problem(
                f"{FIELD}.tax_code",
                "CashFlow's tax rate \u201cGST 10%\u201d is not mapped to a Xero account and tax rate.",
            ),
        ),
        (
            d.mapping(sales=AccountRef("acc-gone", "999")),
            Problem(
                f"{FIELD}.account",
                "The Xero account 999 mapped for \u201cGST 10%\u201d does not exist in Xero.",
            ),
        ),
        (
            d.mapping(sales=AccountRef("acc-old", "201")),
            Problem(
                f"{FIELD}.account",
                "The Xero account 201 Old sales mapped for \u201cGST 10%\u201d is archived.",
            ),
        ),
        (
            d.mapping(sales=AccountRef("acc-exp", "300")),
            Problem(
                f"{FIELD}.account",
                "The Xero account 300 Expenses mapped for \u201cGST 10%\u201d is not a revenue account.",
            ),
        ),
        (
            d.mapping(tax_code="NOPE"),
            Problem(
                f"{FIELD}.tax_code",
                "The Xero tax rate NOPE mapped for \u201cGST 10%\u201d does not exist in Xero.",
            ),
        ),
        (
            d.mapping(tax_code="OLD"),
            Problem(
                f"{FIELD}.tax_code",
                "The Xero tax rate \u201cOld GST\u201d mapped for \u201cGST 10%\u201d is archived.",
            ),
        ),
        (
            d.mapping(tax_code="INPUT"),
            Problem(
                f"{FIELD}.tax_code",
                "The Xero tax rate \u201cGST on Expenses\u201d mapped for \u201cGST 10%\u201d "
                "cannot be used on sales.",
            ),
        ),
    ],
)
def test_each_invoice_mapping_problem_names_its_field(mapping, problem):
    problems = document_problems(d.invoice(), mapping, CHART, LABELS)
    assert problem in problems
    assert all(p.field.startswith(FIELD) for p in problems)


def test_payment_accounts_must_take_payments():
    mapping = d.mapping(
        payment_accounts={"card": AccountRef("acc-debtors", "620")}, default_payment_account=None
    )
    assert document_problems(d.payment(method="card"), mapping, CHART, LABELS) == [
        Problem(
            "payment:card.account",
            "The Xero account 620 Debtors mapped for card payments cannot take payments "
            "(it is not a bank account and payments to it are not enabled).",
        )
    ]
    assert document_problems(d.payment(method="cash"), mapping, CHART, LABELS) == [
        Problem(
            "payment:cash.account",
            "No Xero account is mapped for cash payments, and there is no default payment account.",
        )
    ]


def test_mapping_screen_check_covers_every_mapped_entry_and_the_tracking_option():
    mapping = d.mapping(
        tax_rates={
            d.GST: TaxRateMapping(AccountRef("acc-sales", "200"), "OUTPUT"),
            d.EXEMPT: TaxRateMapping(AccountRef("acc-old", "201"), "EXEMPTOUTPUT"),
        },
        tracking_category_id="cat-1",
        tracking_category_name="Projects",
        tracking_options={"p1": "Roof"},
    )
    fields = [p.field for p in mapping_problems(mapping, CHART, LABELS, methods=["cash"])]
    assert fields == [f"tax_rate:{d.EXEMPT}.account", "tracking.option:p1"]
