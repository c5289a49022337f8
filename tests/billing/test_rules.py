"""The pure price and date rules, table-driven over every month end and leap years."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.billing import rules


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("USD", (Decimal("49.00"), "USD")),
        ("AUD", (Decimal("69.00"), "AUD")),
        ("GBP", (Decimal("49.00"), "GBP")),
        ("gbp", (Decimal("49.00"), "GBP")),
        (" aud ", (Decimal("69.00"), "AUD")),
        ("NZD", (Decimal("49.00"), "USD")),
        ("CAD", (Decimal("49.00"), "USD")),
        ("EUR", (Decimal("49.00"), "USD")),
    ],
)
def test_price_by_billing_currency(currency, expected):
    amount, code = rules.price(currency)
    assert (amount, code) == expected
    assert isinstance(amount, Decimal)


@pytest.mark.parametrize("currency", ["", "US", "USDX", "12$", "€"])
def test_price_rejects_what_is_not_a_currency_code(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        rules.price(currency)


def test_price_in_minor_units_is_exact():
    assert [rules.offered_price(c).amount_minor for c in ("USD", "AUD", "GBP")] == [4900, 6900, 4900]


# enabled_on -> (trial_end, first_billing_date): each month end of a common year (2027) and a leap one (2028).
MONTH_ENDS = [
    (date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 1)),
    (date(2027, 2, 28), date(2027, 3, 28), date(2027, 4, 1)),
    (date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 1)),
    (date(2027, 4, 30), date(2027, 5, 30), date(2027, 6, 1)),
    (date(2027, 5, 31), date(2027, 6, 30), date(2027, 7, 1)),
    (date(2027, 6, 30), date(2027, 7, 30), date(2027, 8, 1)),
    (date(2027, 7, 31), date(2027, 8, 31), date(2027, 9, 1)),
    (date(2027, 8, 31), date(2027, 9, 30), date(2027, 10, 1)),
    (date(2027, 9, 30), date(2027, 10, 30), date(2027, 11, 1)),
    (date(2027, 10, 31), date(2027, 11, 30), date(2027, 12, 1)),
    (date(2027, 11, 30), date(2027, 12, 30), date(2028, 1, 1)),
    (date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 1)),
    (date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 1)),
    (date(2028, 2, 29), date(2028, 3, 29), date(2028, 4, 1)),
    (date(2028, 3, 31), date(2028, 4, 30), date(2028, 5, 1)),
    (date(2028, 4, 30), date(2028, 5, 30), date(2028, 6, 1)),
    (date(2028, 5, 31), date(2028, 6, 30), date(2028, 7, 1)),
    (date(2028, 6, 30), date(2028, 7, 30), date(2028, 8, 1)),
    (date(2028, 7, 31), date(2028, 8, 31), date(2028, 9, 1)),
    (date(2028, 8, 31), date(2028, 9, 30), date(2028, 10, 1)),
    (date(2028, 9, 30), date(2028, 10, 30), date(2028, 11, 1)),
    (date(2028, 10, 31), date(2028, 11, 30), date(2028, 12, 1)),
    (date(2028, 11, 30), date(2028, 12, 30), date(2029, 1, 1)),
    (date(2028, 12, 31), date(2029, 1, 31), date(2029, 2, 1)),
]

OTHER_CASES = [
    # The example.
    (date(2026, 11, 24), date(2026, 12, 24), date(2027, 1, 1)),
    # 29 and 30 January clamp to February's last day too; in a leap year the 29th survives.
    (date(2027, 1, 29), date(2027, 2, 28), date(2027, 3, 1)),
    (date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 1)),
    (date(2028, 1, 29), date(2028, 2, 29), date(2028, 3, 1)),
    (date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 1)),
    # Century rules: 2100 is not a leap year, 2000 was.
    (date(2100, 1, 31), date(2100, 2, 28), date(2100, 3, 1)),
    (date(2000, 1, 31), date(2000, 2, 29), date(2000, 3, 1)),
    # Enabled on a 1st: the trial ends on the next 1st, so that whole month is free too.
    (date(2027, 3, 1), date(2027, 4, 1), date(2027, 5, 1)),
    (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)),
    # Mid-month and the last days before the 1st.
    (date(2027, 6, 15), date(2027, 7, 15), date(2027, 8, 1)),
    (date(2026, 12, 2), date(2027, 1, 2), date(2027, 2, 1)),
    (date(2028, 2, 28), date(2028, 3, 28), date(2028, 4, 1)),
]


@pytest.mark.parametrize(("enabled_on", "trial_ends", "first_bill"), MONTH_ENDS + OTHER_CASES)
def test_trial_end_and_first_billing_date(enabled_on, trial_ends, first_bill):
    assert rules.trial_end(enabled_on) == trial_ends
    assert rules.first_billing_date(enabled_on) == first_bill


def test_every_month_end_of_a_four_year_cycle_clamps_to_the_next_months_last_day():
    # Independent of the table above: walk every month end of 2025..2029 and check the clamp's definition.
    for year in range(2025, 2030):
        for month in range(1, 13):
            month_end = rules.last_day_of_month(date(year, month, 1))
            next_month_end = rules.last_day_of_month(month_end + timedelta(days=1))
            expected = next_month_end.replace(day=min(month_end.day, next_month_end.day))
            assert rules.trial_end(month_end) == expected, month_end


@pytest.mark.parametrize(
    ("enabled_on", "until", "expected"),
    [
        (date(2026, 11, 24), date(2026, 12, 31), []),
        (date(2026, 11, 24), date(2027, 1, 1), [date(2027, 1, 1)]),
        (date(2026, 11, 24), date(2027, 3, 31), [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]),
        (date(2028, 2, 29), date(2028, 5, 1), [date(2028, 4, 1), date(2028, 5, 1)]),
        (date(2027, 12, 31), date(2028, 2, 29), [date(2028, 2, 1)]),
        (date(2027, 6, 1), date(2027, 6, 30), []),
    ],
)
def test_billing_dates(enabled_on, until, expected):
    assert rules.billing_dates(enabled_on, until) == expected


@pytest.mark.parametrize(
    ("billing_from", "until", "cancelled_on", "expected"),
    [
        # Cancelled mid-month: that month stays billed, nothing after it.
        (date(2027, 1, 1), date(2027, 6, 1), date(2027, 2, 14), [date(2027, 1, 1), date(2027, 2, 1)]),
        # Cancelled on a 1st: that month had begun, so it is billed (no refund of a started month).
        (
            date(2027, 1, 1),
            date(2027, 6, 1),
            date(2027, 3, 1),
            [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)],
        ),
        # Cancelled on the last day of a month: the next month is never billed.
        (date(2027, 1, 1), date(2027, 6, 1), date(2027, 1, 31), [date(2027, 1, 1)]),
        # Cancelled during the trial: nothing is ever billed.
        (date(2027, 1, 1), date(2028, 1, 1), date(2026, 12, 10), []),
    ],
)
def test_span_billing_dates_with_cancellation(billing_from, until, cancelled_on, expected):
    assert rules.span_billing_dates(billing_from, until, cancelled_on) == expected


@pytest.mark.parametrize(
    ("first_enabled_on", "reenabled_on", "expected"),
    [
        # Re-enabled mid-month long after the trial: billing resumes on the next 1st.
        (date(2026, 11, 24), date(2027, 5, 10), date(2027, 6, 1)),
        # Re-enabled on a 1st: that 1st is billed (a cancel-on-31st, enable-on-1st gets no free month).
        (date(2026, 11, 24), date(2027, 5, 1), date(2027, 5, 1)),
        # Re-enabled inside the original trial: the one trial continues, no second one starts.
        (date(2026, 11, 24), date(2026, 12, 5), date(2027, 1, 1)),
        # Re-enabled after the trial ended but before the first billing date.
        (date(2026, 11, 24), date(2026, 12, 28), date(2027, 1, 1)),
        # Re-enabled on the last day of a month.
        (date(2026, 11, 24), date(2027, 2, 28), date(2027, 3, 1)),
    ],
)
def test_resumed_billing_start(first_enabled_on, reenabled_on, expected):
    assert rules.resumed_billing_start(first_enabled_on, reenabled_on) == expected


@pytest.mark.parametrize(
    ("first", "end"),
    [
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(2028, 2, 1), date(2028, 2, 29)),
        (date(2027, 12, 1), date(2027, 12, 31)),
        (date(2027, 4, 1), date(2027, 4, 30)),
    ],
)
def test_billing_period_covers_the_whole_month(first, end):
    assert rules.billing_period(first) == rules.Period(first, end)


def test_periods_and_firsts_refuse_days_that_are_not_a_1st():
    with pytest.raises(ValueError, match="start on a 1st"):
        rules.billing_period(date(2027, 2, 2))
    with pytest.raises(ValueError, match="start on a 1st"):
        rules.span_billing_dates(date(2027, 2, 2), date(2027, 5, 1))


days = st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31))


@given(enabled_on=days)
def test_trial_is_about_a_month_and_billing_starts_on_the_following_1st(enabled_on):
    end = rules.trial_end(enabled_on)
    first = rules.first_billing_date(enabled_on)
    assert 28 <= (end - enabled_on).days <= 31
    assert (end.year * 12 + end.month) - (enabled_on.year * 12 + enabled_on.month) == 1
    assert first.day == 1 and first > end and (first - end).days <= 31


@given(enabled_on=days, span=st.integers(min_value=0, max_value=900))
def test_billing_dates_are_consecutive_1sts_after_the_trial(enabled_on, span):
    until = enabled_on + timedelta(days=span)
    dates = rules.billing_dates(enabled_on, until)
    assert all(d.day == 1 and rules.trial_end(enabled_on) < d <= until for d in dates)
    assert all(rules.first_of_next_month(a) == b for a, b in itertools.pairwise(dates))
    if dates:
        assert dates[0] == rules.first_billing_date(enabled_on)
        assert rules.first_of_next_month(dates[-1]) > until
