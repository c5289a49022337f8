"""Property tests for the money arithmetic: exact decimals, per-line half-up rounding, totals = sum of
lines."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.cashflow.money import (
    LineFigures,
    from_minor,
    from_unit_e4,
    has_unit_places,
    invoice_totals,
    is_whole_cents,
    line_amount_minor,
    line_figures,
    line_tax_minor,
    to_minor,
    to_unit_e4,
)

minor_amounts = st.integers(min_value=-(10**11), max_value=10**11)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999.9999"), places=4)
rates = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=4)
lines = st.tuples(quantities, minor_amounts, rates)


@given(minor_amounts)
def test_minor_units_round_trip_exactly(minor):
    amount = from_minor(minor)
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -2
    assert to_minor(amount) == minor


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6))
def test_to_minor_rounds_half_up_to_the_cent(amount):
    expected = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert to_minor(amount) == int(expected * 100)
    assert abs(from_minor(to_minor(amount)) - amount) <= Decimal("0.005")


def test_half_cents_round_away_from_zero():
    assert to_minor(Decimal("0.005")) == 1
    assert to_minor(Decimal("-0.005")) == -1
    assert to_minor(Decimal("2.675")) == 268  # the float 2.675 would round to 2.67


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_minor(0.1)  # type: ignore[arg-type]


@given(quantities, minor_amounts)
def test_line_amount_is_quantity_times_unit_rounded(quantity, unit_minor):
    exact = quantity * Decimal(unit_minor) / 100
    assert from_minor(line_amount_minor(quantity, unit_minor * 100)) == exact.quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


@given(quantities, st.integers(min_value=-(10**12), max_value=10**12))
def test_a_unit_amount_of_four_places_still_makes_a_line_of_whole_cents(quantity, unit_e4):
    unit = from_unit_e4(unit_e4)
    assert to_unit_e4(unit) == unit_e4 and has_unit_places(unit)
    exact = quantity * unit
    assert from_minor(line_amount_minor(quantity, unit_e4)) == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_prices_per_watt():
    # A 6.6 kW system at 0.0275 a watt is 181.50; 6,650 W at 0.0333 is 221.445 -> 221.45 (half up).
    assert line_amount_minor(Decimal(6600), to_unit_e4(Decimal("0.0275"))) == 18150
    assert line_amount_minor(Decimal(6650), to_unit_e4(Decimal("0.0333"))) == 22145
    assert str(from_unit_e4(275)) == "0.0275" and str(from_unit_e4(125000)) == "12.50"


@given(minor_amounts, rates)
def test_exclusive_tax_is_amount_times_rate_rounded(amount_minor, rate):
    exact = from_minor(amount_minor) * rate / 100
    assert from_minor(line_tax_minor(amount_minor, rate, False)) == exact.quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


@given(minor_amounts, rates)
def test_inclusive_tax_is_the_tax_inside_the_amount(amount_minor, rate):
    tax = line_tax_minor(amount_minor, rate, True)
    net = amount_minor - tax
    # The net grossed up by the rate gives back the amount to within half a cent of rounding on the tax.
    assert (
        abs(Decimal(net) * (100 + rate) / 100 - Decimal(amount_minor)) <= Decimal("0.5") * (100 + rate) / 100
    )
    # Tax has the amount's sign and is never more than the amount.
    assert abs(tax) <= abs(amount_minor)
    assert tax == 0 or (tax > 0) == (amount_minor > 0)


@given(minor_amounts, rates)
def test_negative_lines_mirror_positive_ones(amount_minor, rate):
    for inclusive in (True, False):
        assert line_tax_minor(-amount_minor, rate, inclusive) == -line_tax_minor(
            amount_minor, rate, inclusive
        )


@given(st.lists(lines, min_size=1, max_size=30), st.booleans())
def test_totals_are_the_sum_of_the_rounded_lines(raw_lines, inclusive):
    figures = [line_figures(q, unit * 100, rate, inclusive) for q, unit, rate in raw_lines]
    totals = invoice_totals(figures, inclusive)
    assert totals.tax_minor == sum(f.tax_minor for f in figures)
    assert totals.total_minor == totals.subtotal_minor + totals.tax_minor
    if inclusive:
        assert totals.total_minor == sum(f.line_amount_minor for f in figures)
    else:
        assert totals.subtotal_minor == sum(f.line_amount_minor for f in figures)
    for value in (totals.subtotal_minor, totals.tax_minor, totals.total_minor):
        assert isinstance(value, int)


@given(minor_amounts)
def test_whole_cents(minor):
    assert is_whole_cents(from_minor(minor))
    assert not is_whole_cents(from_minor(minor) + Decimal("0.001"))


def test_known_figures():
    # 10% GST inside 1,100.00 is 100.00; outside 1,000.00 it is 100.00 on top.
    assert line_figures(Decimal(1), 11000000, Decimal(10), True) == LineFigures(110000, 10000)
    assert line_figures(Decimal(1), 10000000, Decimal(10), False) == LineFigures(100000, 10000)
    # 8.25% sales tax on 3 x 19.99 = 59.97 -> 4.947525 -> 4.95.
    assert line_figures(Decimal(3), 199900, Decimal("8.25"), False) == LineFigures(5997, 495)
    # 20% VAT inside 0.05 is 0.00833.. -> 0.01.
    assert line_tax_minor(5, Decimal(20), True) == 1
