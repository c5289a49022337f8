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


def test_an_invoice_body_whole():
    invoice = d.invoice("INV-00042", reference="Roof 2", url="https://cashflow.example/i/42")
    body = payloads.invoice_body(invoice, d.mapping(tax_code="4"), "58", ITEMS, AU)
    assert body == {
        "CustomerRef": {"value": "58"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("1000.00"),
                "Description": "Solar system",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "21"},
                    "Qty": Decimal("1"),
                    "UnitPrice": Decimal("1000"),
                    "TaxCodeRef": {"value": "4"},
                },
            }
        ],
        "PrivateNote": "CashFlow invoice INV-00042 https://cashflow.example/i/42",
        "GlobalTaxCalculation": "TaxExcluded",
        "DocNumber": "INV-00042",
        "TxnDate": "2026-11-02",
        "DueDate": "2026-11-30",
        "CustomerMemo": {"value": "Roof 2"},
    }


def test_a_payment_body_whole():
    payment = d.payment("500.00", method="card")
    account = d.mapping().payment_account_for("card")
    body = payloads.payment_body(payment, "58", "130", account, "3")
    assert body == {
        "CustomerRef": {"value": "58"},
        "TotalAmt": Decimal("500.00"),
        "TxnDate": "2026-11-05",
        "DepositToAccountRef": {"value": "acc-clearing"},
        "PrivateNote": "CashFlow payment [pay-1]",
        "PaymentRefNum": "pay-1",
        "Line": [{"Amount": Decimal("500.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
        "PaymentMethodRef": {"value": "3"},
    }
