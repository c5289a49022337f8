from decimal import Decimal

import pytest

from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate
from ledgerlink.ledgers.suggest import propose


def _tax(code: str, name: str, rate: str, status: str = "ACTIVE", revenue: bool = True) -> LedgerTaxRate:
    return LedgerTaxRate(code, name, Decimal(rate), status, revenue)


def _account(id_: str, code: str, name: str, type_: str, status: str = "ACTIVE") -> LedgerAccount:
    revenue = type_ in {"REVENUE", "SALES"}
    return LedgerAccount(id_, code, name, type_, status, revenue, type_ == "BANK")


CHART = Chart(
    accounts=(
        _account("a0", "199", "Old Sales", "REVENUE", "ARCHIVED"),
        _account("a1", "260", "Other Revenue", "REVENUE"),
        _account("a2", "200", "Sales", "REVENUE"),
        _account("a3", "090", "Business Bank Account", "BANK"),
        _account("a4", "400", "Advertising", "EXPENSE"),
    ),
    tax_rates=(
        _tax("EXEMPTEXPORT", "GST Free Exports", "0"),
        _tax("BASEXCLUDED", "BAS Excluded", "0"),
        _tax("EXEMPTOUTPUT", "GST Free Income", "0"),
        _tax("ZERORATEDOUTPUT", "Zero Rated Income", "0"),
        _tax("EXEMPTEXPENSES", "GST Free Expenses", "0", revenue=False),
        _tax("OLDOUTPUT", "GST on Income (old)", "10", status="ARCHIVED"),
        _tax("OUTPUT", "GST on Income", "10"),
    ),
)


@pytest.mark.parametrize(
    ("name", "rate", "expected"),
    [
        ("GST 10%", "10", "OUTPUT"),
        ("GST free", "0", "EXEMPTOUTPUT"),
        ("Zero rated", "0", "ZERORATEDOUTPUT"),
        ("Sales tax 8.25%", "8.25", None),
    ],
)
def test_tax_rates_match_by_rate_then_by_name(name, rate, expected):
    proposal = propose(CHART, [("t", Decimal(rate), name)])
    tax = proposal.tax_rates[0].tax
    assert (tax.code if tax else None) == expected


def test_the_sales_account_and_a_bank_account_are_proposed_never_an_archived_one():
    proposal = propose(CHART, [("t", Decimal("10"))])
    assert proposal.tax_rates[0].account.code == "200"
    assert proposal.payment_account.code == "090"
