"""The proposal on the Xero sandbox's seeded chart of every region, parsed as the connector parses it:
zero-rated and exempt go to the matching ledger rates, payments to the business bank account, and each
proposal says why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers.contract import Chart
from ledgerlink.ledgers.suggest import percent, propose
from ledgerlink.ledgers.xero.ledger import _account, _tax_rate
from ledgerlink.sandbox.xero import seed


def seeded_chart(region: str) -> Chart:
    books = seed.new_ledger(region, "Seeded", "tenant", 0.0)
    return Chart(
        accounts=tuple(_account(a) for a in books["accounts"]),
        tax_rates=tuple(_tax_rate(t) for t in books["tax_rates"]),
        tracking=(),
    )


@pytest.mark.parametrize(
    ("region", "name", "rate", "expected"),
    [
        ("UK", "VAT 20%", "20", "OUTPUT2"),
        ("UK", "VAT 5%", "5", "RROUTPUT"),
        ("UK", "Zero rated", "0", "ZERORATEDOUTPUT"),  # not ECZROUTPUT, "Zero Rated EC Goods Income"
        ("UK", "Exempt", "0", "EXEMPTOUTPUT"),
        ("AU", "GST 10%", "10", "OUTPUT"),
        ("AU", "GST free", "0", "EXEMPTOUTPUT"),
        ("AU", "Zero rated", "0", "EXEMPTOUTPUT"),  # Australia's zero rate is "GST Free"
        ("NZ", "GST 15%", "15", "OUTPUT2"),
        ("NZ", "Zero rated", "0", "ZERORATED"),
        ("NZ", "Exempt", "0", "NONE"),
        ("US", "Exempt", "0", "NONE"),
        ("US", "Sales tax 7.25%", "7.25", "TAX002"),
    ],
)
def test_each_regions_rates_go_to_the_ledger_rate_that_means_the_same(region, name, rate, expected):
    proposal = propose(seeded_chart(region), [("t", Decimal(rate), name)])
    assert proposal.tax_rates[0].tax is not None and proposal.tax_rates[0].tax.code == expected


@pytest.mark.parametrize("region", ["AU", "UK", "NZ", "US"])
def test_payments_go_to_the_business_bank_account_and_nothing_archived_is_proposed(region):
    proposal = propose(seeded_chart(region), [("t", Decimal("0"), "Zero rated")])
    assert proposal.payment_account is not None and proposal.payment_account.code == "090"
    assert proposal.payment_reason == "the business bank account"
    assert proposal.tax_rates[0].account is not None and proposal.tax_rates[0].account.code == "200"


def test_the_reason_names_the_rate_and_whether_the_name_decided():
    chart = seeded_chart("UK")
    zero, standard = propose(
        chart, [("z", Decimal("0"), "Zero rated"), ("s", Decimal("20"), "VAT")]
    ).tax_rates
    assert zero.tax_reason == "matched by rate 0% and name"
    assert standard.tax_reason == "matched by rate 20%"


@pytest.mark.parametrize(
    ("rate", "shown"), [("20", "20%"), ("20.0000", "20%"), ("12.5", "12.5%"), ("0", "0%")]
)
def test_rates_read_as_percentages_never_exponents(rate, shown):
    assert percent(Decimal(rate).normalize()) == shown
