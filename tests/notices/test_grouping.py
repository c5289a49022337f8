"""The recap's pure grouping: one group per setting, largest first, oldest first inside, the first 50 overall,
totals over everything, an invoice counted once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerlink.notices.grouping import FailedItem, Setting, build_recap, money

TAX = Setting("tax_rate:1.tax_code", "Xero tax rate for GST free", "Choose one.")
FEE = Setting("line_type:fee.account", "Account for fee lines", "Choose one.")
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def item(
    n: int, setting: Setting, amount: str = "10.00", currency: str = "AUD", invoice: str = ""
) -> FailedItem:
    return FailedItem(
        invoice or f"id-{n}", f"INV-{n:05d}", "Ada", Decimal(amount), "AUD", None, "why",
        T0 + dt.timedelta(minutes=n), setting,
    )  # fmt: skip


def test_groups_largest_first_oldest_first_with_a_shared_limit():
    items = [item(n, FEE) for n in (5, 1)] + [item(n, TAX) for n in (9, 3, 7)]
    recap = build_recap(items, limit=4)
    assert [g.setting for g in recap.groups] == [TAX, FEE]
    assert [i.number for i in recap.groups[0].shown] == ["INV-00003", "INV-00007", "INV-00009"]
    assert [i.number for i in recap.groups[1].shown] == ["INV-00001"]
    assert (recap.groups[1].hidden, recap.count, recap.shown, recap.hidden) == (1, 5, 4, 1)
    assert recap.totals[0].text == "$50.00 AUD" and recap.groups[0].totals[0].text == "$30.00 AUD"


def test_an_invoice_waiting_twice_is_listed_once_per_setting_and_counted_once():
    items = [item(1, TAX, invoice="a"), item(2, TAX, invoice="a"), item(3, FEE, invoice="a")]
    recap = build_recap(items)
    assert [g.count for g in recap.groups] == [1, 1]
    assert recap.count == 1 and recap.totals[0].amount == Decimal("10.00")


def test_money_names_symbol_and_code():
    assert money(Decimal("12345.5"), "GBP") == "\u00a312,345.50 GBP"
    assert money(Decimal("0"), "USD") == "$0.00 USD"
    assert build_recap([]).empty
