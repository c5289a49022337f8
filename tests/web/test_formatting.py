"""Money, dates and rates as the organisation's country writes them, and the preview's table found in any
ledger's body."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from ledgerlink.web import formatting
from ledgerlink.web.preview_table import line_table


@pytest.mark.parametrize(
    ("amount", "currency", "country", "shown"),
    [
        ("11252.00", "GBP", "GB", "£11,252.00"),
        ("1234567.5", "AUD", "AU", "$1,234,567.50"),
        ("49", "USD", "AU", "US$49.00"),
        ("-1500.5", "USD", "US", "-$1,500.50"),
        ("0", "NZD", "NZ", "$0.00"),
    ],
)
def test_money_has_the_symbol_and_thousands_separators(amount, currency, country, shown):
    assert formatting.money(Decimal(amount), currency, country) == shown


def test_dates_follow_the_country():
    day = datetime.date(2026, 11, 29)
    assert formatting.date(day, "GB") == "29 Nov 2026"
    assert formatting.date(day, "AU") == "29 Nov 2026"
    assert formatting.date(day, "US") == "Nov 29, 2026"


def test_rates_never_read_as_exponents():
    assert formatting.percent(Decimal("20").normalize()) == "20%"
    assert formatting.percent(Decimal("8.2500")) == "8.25%"


def test_the_preview_table_finds_lines_and_totals_in_either_ledgers_body():
    xero = {
        "Invoices": [
            {
                "InvoiceNumber": "INV-1",
                "Total": "110.00",
                "LineItems": [
                    {
                        "Description": "Panel",
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                        "LineAmount": "100.00",
                    }
                ],
            }
        ]
    }
    table = line_table(xero)
    assert table.columns == ["Description", "AccountCode", "TaxType", "LineAmount"]
    assert table.rows == [["Panel", "200", "OUTPUT", "100.00"]] and ("Total", "110.00") in table.totals
    qbo = {
        "DocNumber": "INV-1",
        "Line": [
            {"Amount": 100, "SalesItemLineDetail": {"TaxCodeRef": {"value": "5"}, "ItemRef": {"value": "1"}}}
        ],
    }
    table = line_table(qbo)
    assert table.rows and table.columns[0] == "Amount"
