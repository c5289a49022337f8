"""The connector's price and date rules: pure functions, no database, no clock, no Django.

Everything that bills (the scheduler, the pages, the emails, the tests' expectations) asks these functions;
nothing else decides a price or a date. The rules, in words (docs/billing.md says the same for users):

- Price by billing currency: 49 USD, 69 AUD, 49 GBP a month. Any other currency is offered the USD price.
- The trial starts on the day the connector is first enabled and ends one calendar month later, on the same
  day of the month, clamped to that month's last day (31 Jan -> 28/29 Feb; 29 Feb -> 29 Mar).
- Billing starts on the 1st of the month after the month in which the trial ends; one invoice on every 1st.
- A month is billed when the connector was enabled when it began: cancelling on or after a 1st keeps that
  month billed (it is not refunded); cancelling before it stops it.
- Re-enabling after a cancellation never starts a second trial: billing resumes on the first 1st on or after
  the re-enable date, but never before the original trial's first billing date.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

MINOR_UNITS = 100  # USD, AUD and GBP all have two decimal places.


@dataclass(frozen=True)
class Price:
    """A monthly price: an exact amount in major units and its ISO 4217 currency."""

    amount: Decimal
    currency: str

    @property
    def amount_minor(self) -> int:
        """The amount in integer minor units (cents, pence)."""
        return int(self.amount * MINOR_UNITS)


PRICES: dict[str, Price] = {
    "USD": Price(Decimal("49.00"), "USD"),
    "AUD": Price(Decimal("69.00"), "AUD"),
    "GBP": Price(Decimal("49.00"), "GBP"),
}
# NZD, CAD, EUR and every other currency are offered the USD price: one predictable rule, in the currency
# cards and banks everywhere settle, with no table of regional guesses to maintain (docs/billing.md, "Price").
FALLBACK_CURRENCY = "USD"


def offered_price(currency: str) -> Price:
    """The monthly price offered to an organisation whose billing currency is `currency`."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return PRICES.get(code, PRICES[FALLBACK_CURRENCY])


def price(currency: str) -> tuple[Decimal, str]:
    """The monthly price as (amount, currency) for an organisation billed in `currency`."""
    offer = offered_price(currency)
    return offer.amount, offer.currency


def last_day_of_month(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def first_of_next_month(day: date) -> date:
    """The 1st of the month after `day`'s month."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def add_one_month(day: date) -> date:
    """The same day of the next month, clamped to that month's last day (31 Jan -> 28/29 Feb)."""
    next_first = first_of_next_month(day)
    return next_first.replace(day=min(day.day, calendar.monthrange(next_first.year, next_first.month)[1]))


def trial_end(enabled_on: date) -> date:
    """The last day of the free trial that starts on `enabled_on`: one calendar month later."""
    return add_one_month(enabled_on)


def first_billing_date(enabled_on: date) -> date:
    """The first paid day: the 1st of the month after the trial's end (enabled 24 Nov -> 1 Jan)."""
    return first_of_next_month(trial_end(enabled_on))


def first_on_or_after(day: date) -> date:
    """`day` itself when it is a 1st, otherwise the 1st of the next month."""
    return day if day.day == 1 else first_of_next_month(day)


def resumed_billing_start(first_enabled_on: date, reenabled_on: date) -> date:
    """Where billing starts again after a re-enable: the next 1st (on or after the re-enable date), and never
    inside the one trial the organisation ever gets (which is anchored on its first enable)."""
    return max(first_billing_date(first_enabled_on), first_on_or_after(reenabled_on))


def last_served_day(first_billing: date, cancelled_on: date, span_billing_from: date) -> date:
    """The last day a cancelled connector still syncs: to the end of the month it was cancelled in when that
    month was billed (paid for, not refunded), else to the end of the free trial (the day before the first
    paid day); never before the cancellation itself."""
    month_start = cancelled_on.replace(day=1)
    paid_until = last_day_of_month(cancelled_on) if month_start >= span_billing_from else cancelled_on
    return max(cancelled_on, paid_until, first_billing - timedelta(days=1))


def firsts_between(start: date, until: date) -> Iterator[date]:
    """Every 1st from `start` (a 1st) up to and including `until`."""
    if start.day != 1:
        raise ValueError(f"billing periods start on a 1st, not {start.isoformat()}")
    day = start
    while day <= until:
        yield day
        day = first_of_next_month(day)


def span_billing_dates(billing_from: date, until: date, cancelled_on: date | None = None) -> list[date]:
    """The 1sts billed for one enabled span: from `billing_from` to `until`, each month that began while the
    connector was enabled (a cancellation on the 1st itself still bills that month: it had begun)."""
    last = until if cancelled_on is None else min(until, cancelled_on)
    return list(firsts_between(billing_from, last))


def billing_dates(enabled_on: date, until: date) -> list[date]:
    """The invoice dates (each the 1st that starts a paid month) up to and including `until`, for an
    organisation enabled on `enabled_on` and never cancelled."""
    return span_billing_dates(first_billing_date(enabled_on), until)


@dataclass(frozen=True)
class Period:
    """The month one invoice pays for, both days inclusive."""

    start: date
    end: date


def billing_period(first: date) -> Period:
    """The paid month that starts on the 1st `first`."""
    if first.day != 1:
        raise ValueError(f"billing periods start on a 1st, not {first.isoformat()}")
    return Period(first, last_day_of_month(first))
