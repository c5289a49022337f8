"""Money, dates and percentages as the organisation's country writes them. The four countries LedgerLink
serves all group thousands with "," and use "." for decimals; they differ in the symbol a currency gets
(a dollar is "$" at home, "US$" abroad) and in the order of day and month."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ledgerlink.ledgers import suggest

# The currency each country calls plainly "$" or "£"; any other dollar carries its country's prefix.
HOME_SYMBOL = {"AU": ("AUD", "$"), "US": ("USD", "$"), "GB": ("GBP", "£"), "NZ": ("NZD", "$")}
FOREIGN_SYMBOL = {"AUD": "A$", "USD": "US$", "GBP": "£", "NZD": "NZ$"}
MONTH_FIRST = {"US"}


def currency_symbol(currency: str, country: str) -> str:
    home = HOME_SYMBOL.get(country)
    if home and home[0] == currency:
        return home[1]
    return FOREIGN_SYMBOL.get(currency, f"{currency} ")


def money(amount: Decimal | int | str | None, currency: str, country: str) -> str:
    """ "£11,252.00", "-$1,500.50", "US$49.00" for a US dollar price shown to an Australian organisation."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_symbol(currency, country)}{abs(value):,.2f}"


def date(value: datetime.date | None, country: str) -> str:
    """ "4 Dec 2026" (AU, GB, NZ) or "Dec 4, 2026" (US); a datetime is shown as its date and time."""
    if value is None:
        return ""
    month = value.strftime("%b")
    text = (
        f"{month} {value.day}, {value.year}"
        if country in MONTH_FIRST
        else f"{value.day} {month} {value.year}"
    )
    if isinstance(value, datetime.datetime):
        clock = value.strftime("%I:%M %p").lstrip("0") if country in MONTH_FIRST else value.strftime("%H:%M")
        text = f"{text} {clock}"
    return text


def percent(rate: Decimal | int | str | None) -> str:
    """ "20%", "12.5%": the ledgers' own wording of a rate (`suggest.percent`), blank for none."""
    return "" if rate is None or rate == "" else suggest.percent(rate)
