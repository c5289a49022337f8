"""QuickBooks bodies without a call: Qty x UnitPrice kept when QuickBooks' 6070 check will agree, one unit
otherwise; the tax rounding line sized and placed on the 0% code."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.ledgers.quickbooks import payloads

from .. import documents as d

AU = payloads.Company(
    us_sales_tax=False,
    custom_numbers=True,
    home_currency="AUD",
    multicurrency=False,
    code_rates={"4": (Decimal("10"),), "6": (Decimal("0"),)},
    zero_code="6",
)
ITEMS = {"system": "21", payloads.ROUNDING: "22"}


def test_a_product_that_is_not_the_line_amount_goes_as_one_unit_with_the_arithmetic_described():
    line = d.line("100.00", "10.00", quantity="3", unit="33.33")  # 99.99 in QuickBooks' arithmetic
    body = payloads.sales_line(line, Decimal("100.00"), "4", "21")
    detail = body["SalesItemLineDetail"]
    assert (detail["Qty"], detail["UnitPrice"], body["Amount"]) == (1, Decimal("100.00"), Decimal("100.00"))
    assert body["Description"].endswith("(3 x 33.33)")


def test_tax_rounding_goes_on_the_zero_code_as_one_line_of_the_difference():
    lines = tuple(d.line("333.33", "33.33") for _ in range(3))  # CashFlow 99.99, QuickBooks 100.00
    body = payloads.document_lines(lines, False, Decimal("99.99"), d.mapping(tax_code="4"), ITEMS, AU, "x")
    rounding = body[-1]
    assert len(body) == 4 and rounding["Amount"] == Decimal("-0.01")
    assert rounding["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "6"}
    assert rounding["SalesItemLineDetail"]["ItemRef"] == {"value": "22"}
    assert sum(line["Amount"] for line in body) + payloads.expected_tax(body, AU) == Decimal("1099.98")
