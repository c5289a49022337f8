"""Two years of the billing scheduler, day by day, for a few hundred organisations across time zones.

Every organisation's invoices are checked against an expectation computed from `rules` alone (never from the
database): every month billed, none twice, none missing, each issued on the organisation's local 1st except
across a simulated outage, when the first run after it catches up.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from ledgerlink.billing import rules, services
from ledgerlink.billing.models import BillingInvoice
from ledgerlink.billing.scheduler import run_billing
from ledgerlink.cashflow.models import Membership, Organisation, Role

from .helpers import local_noon

ORGANISATIONS = 300
START = date(2026, 11, 1)
DAYS = 731  # two years, through 2028-10-31 (2028 is a leap year)
TICK = timedelta(hours=6)  # the daily run at 06:00 UTC falls inside the same local date in every zone below
OUTAGE = (date(2027, 6, 25), date(2027, 7, 4))  # no runs at all on these UTC days
ZONES = [
    ("Pacific/Auckland", "NZD", "NZ"),
    ("Australia/Sydney", "AUD", "AU"),
    ("Australia/Perth", "AUD", "AU"),
    ("Europe/London", "GBP", "GB"),
    ("UTC", "GBP", "GB"),
    ("America/New_York", "USD", "US"),
    ("America/Los_Angeles", "USD", "US"),
    ("Pacific/Honolulu", "USD", "US"),
]


@dataclass
class Plan:
    """What one simulated organisation does: (action, local date) pairs, in order."""

    organisation: Organisation
    admin: object
    events: list[tuple[str, date]] = field(default_factory=list)

    def expected(self, until: date) -> list[date]:
        """The invoice dates the rules promise, up to `until` (the organisation's local date at the end)."""
        enables = [day for action, day in self.events if action == "enable"]
        cancels = [day for action, day in self.events if action == "cancel"]
        dates: set[date] = set()
        for index, enabled_on in enumerate(enables):
            billing_from = (
                rules.first_billing_date(enabled_on)
                if index == 0
                else rules.resumed_billing_start(enables[0], enabled_on)
            )
            cancelled_on = cancels[index] if index < len(cancels) else None
            dates.update(rules.span_billing_dates(billing_from, until, cancelled_on))
        return sorted(dates)


def random_plan(rng: random.Random, organisation: Organisation, admin: object) -> Plan:
    last = START + timedelta(days=DAYS - 1)
    enabled_on = START + timedelta(days=rng.randrange(DAYS - 120))
    plan = Plan(organisation, admin, [("enable", enabled_on)])
    shape = rng.random()
    if shape < 0.6:
        return plan  # enabled for good
    cancelled_on = enabled_on + timedelta(days=rng.randrange(1, 20 if shape < 0.7 else 300))
    if cancelled_on > last:
        return plan
    plan.events.append(("cancel", cancelled_on))
    if shape > 0.85:  # enable-disable-enable
        reenabled_on = cancelled_on + timedelta(days=rng.randrange(0, 120))
        if reenabled_on <= last:
            plan.events.append(("enable", reenabled_on))
    return plan


def create_organisations(rng: random.Random) -> list[Plan]:
    organisations = Organisation.objects.bulk_create(
        Organisation(
            name=f"Simulated {n}",
            country=country,
            home_currency=currency,
            time_zone=zone,
            accounting_email=f"accounts{n}@sim.example",
        )
        for n, (zone, currency, country) in ((n, ZONES[n % len(ZONES)]) for n in range(ORGANISATIONS))
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"sim-admin-{n}", email=f"admin{n}@sim.example")
        for n in range(ORGANISATIONS)
    )
    Membership.objects.bulk_create(
        Membership(user=user, organisation=org, role=Role.ADMIN)
        for user, org in zip(users, organisations, strict=True)
    )
    return [random_plan(rng, org, user) for org, user in zip(organisations, users, strict=True)]


def timeline(plans: list[Plan]) -> list[tuple[datetime, Plan | None, str]]:
    """Every event at its organisation's local noon, and one billing run a day outside the outage, sorted."""
    entries: list[tuple[datetime, Plan | None, str]] = [
        (local_noon(day, plan.organisation.time_zone), plan, action)
        for plan in plans
        for action, day in plan.events
    ]
    for offset in range(DAYS + 1):
        day = START + timedelta(days=offset)
        if not OUTAGE[0] <= day <= OUTAGE[1]:
            entries.append((datetime.combine(day, datetime.min.time(), tzinfo=UTC) + TICK, None, "bill"))
    return sorted(entries, key=lambda entry: (entry[0], entry[2] == "bill"))


@pytest.mark.django_db
def test_two_years_day_by_day_for_300_organisations(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = time.monotonic()
    plans = create_organisations(random.Random(20261124))
    issued_by_runs = runs = 0
    last_run = None
    for instant, plan, action in timeline(plans):
        if action == "bill":
            result = run_billing(instant)
            assert result.spans_failed == 0
            issued_by_runs += result.invoices_issued
            runs += 1
            last_run = instant
        elif action == "enable":
            services.enable_connector(plan.organisation, plan.admin, "192.0.2.1", "simulation", now=instant)
        else:
            services.cancel_connector(plan.organisation, plan.admin, now=instant)

    invoices = list(
        BillingInvoice.objects.values_list("organisation_id", "period_start", "issued_at", "number")
    )
    assert len({number for *_, number in invoices}) == len(invoices) == issued_by_runs
    actual: dict[object, list[date]] = {}
    for organisation_id, period_start, _, _ in invoices:
        actual.setdefault(organisation_id, []).append(period_start)
    missing = extra = 0
    for plan in plans:
        end = last_run.astimezone(ZoneInfo(plan.organisation.time_zone)).date()
        expected = plan.expected(end)
        got = sorted(actual.get(plan.organisation.pk, []))
        assert len(got) == len(set(got)), plan
        missing += len(set(expected) - set(got))
        extra += len(set(got) - set(expected))
        assert got == expected, (plan.organisation.time_zone, plan.events)
    assert (missing, extra) == (0, 0)

    # Issued on the local 1st, except the month the outage swallowed, caught up by the first run after it.
    zones = {plan.organisation.pk: ZoneInfo(plan.organisation.time_zone) for plan in plans}
    for organisation_id, period_start, issued_at, _ in invoices:
        issued_on = issued_at.astimezone(zones[organisation_id]).date()
        if period_start == date(2027, 7, 1):
            assert issued_at == datetime(2027, 7, 5, tzinfo=UTC) + TICK
        else:
            assert issued_on == period_start, (organisation_id, period_start, issued_at)

    assert runs == DAYS + 1 - ((OUTAGE[1] - OUTAGE[0]).days + 1)
    print(
        f"\nsimulation: {ORGANISATIONS} organisations, {DAYS} days, {runs} runs, {len(invoices)} invoices, "
        f"{sum(len(p.events) for p in plans)} enable/cancel events, {time.monotonic() - started:.1f} s"
    )
    assert len(invoices) > 3000  # the plan really bills: the check above is not vacuous

    # Each at the price its organisation was offered, each emailed exactly once to its accounting contact.
    currencies = {plan.organisation.pk: plan.organisation.home_currency for plan in plans}
    for organisation_id, amount_minor, currency in BillingInvoice.objects.values_list(
        "organisation_id", "amount_minor", "currency"
    ):
        offer = rules.offered_price(currencies[organisation_id])
        assert (amount_minor, currency) == (offer.amount_minor, offer.currency)
    assert not BillingInvoice.objects.filter(emailed_at__isnull=True).exists()
    assert len(mail.outbox) == len(invoices)
    assert len({message.subject for message in mail.outbox}) == len(invoices)
