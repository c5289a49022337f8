"""Money arithmetic: pure functions on `Decimal` and integer minor units, never floats.

Every currency CashFlow invoices in (AUD, USD, GBP, NZD) has two decimal places. A unit amount may have four
(installers price by the watt or the kWh: 0.0275 a watt), kept as integer ten-thousandths. A line's amount is
quantity x unit amount rounded to the cent; its tax is rounded per line to the cent, half up (away from zero
for negative lines, so a discount's tax mirrors a charge's). An invoice's totals are sums of its lines'
rounded figures, so totals always equal the sum of what each line shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

MINOR_DIGITS = 2
CENT = Decimal(1).scaleb(-MINOR_DIGITS)
UNIT_DIGITS = 4
UNIT_QUANTUM = Decimal(1).scaleb(-UNIT_DIGITS)
HUNDRED = Decimal(100)


def _round_to_integer(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_minor(amount: Decimal) -> int:
    """Decimal major units -> integer minor units, rounding half up to the cent."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    with localcontext() as ctx:
        ctx.prec = 50
        return _round_to_integer(amount.scaleb(MINOR_DIGITS))


def from_minor(minor: int) -> Decimal:
    """Integer minor units -> Decimal major units with exactly two places (1234 -> Decimal("12.34"))."""
    return Decimal(int(minor)).scaleb(-MINOR_DIGITS).quantize(CENT)


def to_unit_e4(amount: Decimal) -> int:
    """A unit amount -> integer ten-thousandths (0.0275 -> 275), rounding half up past the fourth place."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    with localcontext() as ctx:
        ctx.prec = 50
        return _round_to_integer(amount.scaleb(UNIT_DIGITS))


def from_unit_e4(units: int) -> Decimal:
    """Integer ten-thousandths -> a unit amount, with two places when it is whole cents (1250.00) and four
    otherwise (0.0275), so prices in cents read as they always did."""
    amount = Decimal(int(units)).scaleb(-UNIT_DIGITS)
    return amount.quantize(CENT) if units % 100 == 0 else amount.quantize(UNIT_QUANTUM)


def has_unit_places(amount: Decimal) -> bool:
    """True when `amount` has no digits below the fourth decimal place."""
    return amount.is_finite() and amount == amount.quantize(UNIT_QUANTUM, rounding=ROUND_HALF_UP)


def is_whole_cents(amount: Decimal) -> bool:
    """True when `amount` has no digits below the cent (12.30 yes, 12.305 no)."""
    return amount.is_finite() and amount == amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount_minor(quantity: Decimal, unit_e4: int) -> int:
    """Quantity x unit amount (in ten-thousandths), rounded to the cent half up."""
    with localcontext() as ctx:
        ctx.prec = 50
        return _round_to_integer(quantity * Decimal(unit_e4).scaleb(MINOR_DIGITS - UNIT_DIGITS))


def line_tax_minor(amount_minor: int, rate_percent: Decimal, tax_inclusive: bool) -> int:
    """The tax in one line's amount, rounded to the cent half up.

    Exclusive: amount x rate / 100 is added on top. Inclusive: the amount already holds the tax, which is
    amount x rate / (100 + rate)."""
    with localcontext() as ctx:
        ctx.prec = 50
        amount = Decimal(amount_minor)
        divisor = HUNDRED + rate_percent if tax_inclusive else HUNDRED
        return _round_to_integer(amount * rate_percent / divisor)


@dataclass(frozen=True)
class LineFigures:
    """One line's money in minor units, in the invoice's tax mode."""

    line_amount_minor: int
    tax_minor: int


@dataclass(frozen=True)
class InvoiceTotals:
    """An invoice's totals in minor units: subtotal excludes tax, total = subtotal + tax."""

    subtotal_minor: int
    tax_minor: int
    total_minor: int


def line_figures(quantity: Decimal, unit_e4: int, rate_percent: Decimal, tax_inclusive: bool) -> LineFigures:
    """A line's rounded amount and its rounded tax (the unit amount in ten-thousandths)."""
    amount = line_amount_minor(quantity, unit_e4)
    return LineFigures(amount, line_tax_minor(amount, rate_percent, tax_inclusive))


def invoice_totals(lines: Iterable[LineFigures], tax_inclusive: bool) -> InvoiceTotals:
    """Sum rounded lines. Inclusive line amounts already hold their tax, so the subtotal takes it out."""
    lines = list(lines)
    tax = sum(line.tax_minor for line in lines)
    amounts = sum(line.line_amount_minor for line in lines)
    subtotal = amounts - tax if tax_inclusive else amounts
    return InvoiceTotals(subtotal_minor=subtotal, tax_minor=tax, total_minor=subtotal + tax)
