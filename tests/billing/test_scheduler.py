"""The billing job over dates: month ends, leap years, time zones either side of UTC midnight,
enable-disable-enable, cancellations, catch-up after downtime, and re-runs that must issue nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from ledgerlink.billing import rules, services
from ledgerlink.billing.models import BillingInvoice, InvoiceStatus, Subscription, SubscriptionStatus
from ledgerlink.billing.scheduler import run_billing

from .helpers import local_noon, make_organisation, make_user

pytestmark = pytest.mark.django_db
SYDNEY = "Australia/Sydney"


def d(text: str) -> date:
    return date.fromisoformat(text)


def billed(organisation) -> list[date]:
    return sorted(
        BillingInvoice.objects.filter(organisation=organisation).values_list("period_start", flat=True)
    )


def play(organisation, admin, events: list[tuple[str, str]], until: date, bill_first: bool = False) -> None:
    """Run the scheduler every day from the first event to `until`, applying each event at local 09:00 and
    billing at local 10:00 (or billing first, at 08:00, when `bill_first`)."""
    actions = {d(day): action for action, day in events}
    day = min(actions)
    while day <= until:
        morning = local_noon(day, organisation.time_zone) - timedelta(hours=3)
        if bill_first:
            run_billing(morning - timedelta(hours=1))
        action = actions.get(day)
        if action == "enable":
            services.enable_connector(organisation, admin, "198.51.100.7", "pytest", now=morning)
        elif action == "cancel":
            services.cancel_connector(organisation, admin, now=morning)
        if not bill_first:
            run_billing(morning + timedelta(hours=1))
        day += timedelta(days=1)


SCENARIOS = {
    "issue example": (
        [("enable", "2026-11-24")],
        "2027-04-15",
        ["2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01"],
    ),
    "enabled 31 Jan": ([("enable", "2027-01-31")], "2027-05-02", ["2027-03-01", "2027-04-01", "2027-05-01"]),
    "enabled 29 Feb": ([("enable", "2028-02-29")], "2028-06-01", ["2028-04-01", "2028-05-01", "2028-06-01"]),
    "enabled 31 Dec": ([("enable", "2027-12-31")], "2028-03-01", ["2028-02-01", "2028-03-01"]),
    "enabled on a 1st": ([("enable", "2027-03-01")], "2027-06-30", ["2027-05-01", "2027-06-01"]),
    "cancel mid-trial": ([("enable", "2026-11-24"), ("cancel", "2026-12-10")], "2027-06-01", []),
    "cancel the day before the first invoice": (
        [("enable", "2026-11-24"), ("cancel", "2026-12-31")],
        "2027-03-01",
        [],
    ),
    "cancel mid-month": (
        [("enable", "2026-11-24"), ("cancel", "2027-02-14")],
        "2027-06-01",
        ["2027-01-01", "2027-02-01"],
    ),
    "cancel on a 1st keeps that month": (
        [("enable", "2026-11-24"), ("cancel", "2027-03-01")],
        "2027-06-01",
        ["2027-01-01", "2027-02-01", "2027-03-01"],
    ),
    "enable-disable-enable": (
        [("enable", "2026-11-24"), ("cancel", "2027-02-14"), ("enable", "2027-05-10")],
        "2027-08-01",
        ["2027-01-01", "2027-02-01", "2027-06-01", "2027-07-01", "2027-08-01"],
    ),
    "enable-disable-enable inside the trial": (
        [("enable", "2026-11-24"), ("cancel", "2026-11-30"), ("enable", "2026-12-05")],
        "2027-02-01",
        ["2027-01-01", "2027-02-01"],
    ),
    "re-enable in the paid month bills it once": (
        [("enable", "2026-11-24"), ("cancel", "2027-02-14"), ("enable", "2027-02-20")],
        "2027-04-01",
        ["2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01"],
    ),
    "cancel on the 31st, re-enable on the 1st: no free month": (
        [("enable", "2026-11-24"), ("cancel", "2027-03-31"), ("enable", "2027-04-01")],
        "2027-05-01",
        ["2027-01-01", "2027-02-01", "2027-03-01", "2027-04-01", "2027-05-01"],
    ),
    "three spans across a leap February": (
        [
            ("enable", "2027-12-15"),
            ("cancel", "2028-02-29"),
            ("enable", "2028-03-15"),
            ("cancel", "2028-04-30"),
            ("enable", "2028-06-01"),
        ],
        "2028-07-01",
        ["2028-02-01", "2028-04-01", "2028-06-01", "2028-07-01"],
    ),
}


@pytest.mark.parametrize("bill_first", [False, True], ids=["events-then-billing", "billing-then-events"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_day_by_day(name, bill_first):
    events, until, expected = SCENARIOS[name]
    organisation = make_organisation(SYDNEY, "AUD")
    admin = make_user(organisation)
    play(organisation, admin, events, d(until), bill_first)
    assert billed(organisation) == [d(day) for day in expected]
    assert all(
        (invoice.amount_minor, invoice.currency, invoice.status) == (6900, "AUD", InvoiceStatus.ISSUED)
        for invoice in BillingInvoice.objects.filter(organisation=organisation)
    )
    # The same day again: nothing new, whatever the scenario.
    assert run_billing(local_noon(d(until), SYDNEY)).invoices_issued == 0


def test_catches_up_after_downtime_in_one_run_and_never_twice(organisation, admin):
    services.enable_connector(organisation, admin, None, "", now=local_noon(d("2026-11-24"), SYDNEY))
    run = run_billing(local_noon(d("2027-05-20"), SYDNEY))
    assert run.invoices_issued == 5
    assert billed(organisation) == rules.billing_dates(d("2026-11-24"), d("2027-05-20"))
    assert run_billing(local_noon(d("2027-05-21"), SYDNEY)).invoices_issued == 0


def test_a_cancellation_during_downtime_still_bills_the_months_that_began_before_it(organisation, admin):
    services.enable_connector(organisation, admin, None, "", now=local_noon(d("2026-11-24"), SYDNEY))
    services.cancel_connector(organisation, admin, now=local_noon(d("2027-03-10"), SYDNEY))
    services.enable_connector(organisation, admin, None, "", now=local_noon(d("2027-04-10"), SYDNEY))
    run_billing(local_noon(d("2027-06-02"), SYDNEY))
    assert billed(organisation) == [
        d(x) for x in ("2027-01-01", "2027-02-01", "2027-03-01", "2027-05-01", "2027-06-01")
    ]


def test_status_moves_from_trial_to_active_with_the_first_invoice(organisation, admin):
    services.enable_connector(organisation, admin, None, "", now=local_noon(d("2026-11-24"), SYDNEY))
    run_billing(local_noon(d("2026-12-31"), SYDNEY))
    assert Subscription.objects.get().status == SubscriptionStatus.TRIAL
    run_billing(local_noon(d("2027-01-01"), SYDNEY))
    assert Subscription.objects.get().status == SubscriptionStatus.ACTIVE


ZONES = {"auckland": "Pacific/Auckland", "london": "Europe/London", "los_angeles": "America/Los_Angeles"}


@pytest.mark.parametrize(
    ("instant", "billed_zones"),
    [
        # Auckland is UTC+13 in January: its 1 January begins at 11:00 UTC on 31 December.
        ("2026-12-31T10:59:59", set()),
        ("2026-12-31T11:00:00", {"auckland"}),
        ("2026-12-31T23:59:59", {"auckland"}),
        ("2027-01-01T00:00:00", {"auckland", "london"}),
        # Los Angeles is UTC-8: its 1 January begins at 08:00 UTC on 1 January.
        ("2027-01-01T07:59:59", {"auckland", "london"}),
        ("2027-01-01T08:00:00", {"auckland", "london", "los_angeles"}),
    ],
)
def test_the_1st_is_each_organisations_local_1st(instant, billed_zones):
    organisations = {}
    for label, zone in ZONES.items():
        organisation = make_organisation(zone, "USD", "US")
        services.enable_connector(
            organisation, make_user(organisation), None, "", now=local_noon(d("2026-11-24"), zone)
        )
        organisations[label] = organisation
    run_billing(datetime.fromisoformat(instant).replace(tzinfo=UTC))
    assert {label for label, org in organisations.items() if billed(org)} == billed_zones


@pytest.mark.parametrize(
    ("zone", "first_billing_date"),
    [
        # 2026-11-30 11:30 UTC is 1 December 00:30 in Auckland (trial to 1 Jan, billing from 1 Feb) but still
        # 30 November in Los Angeles (trial to 30 Dec, billing from 1 Jan).
        ("Pacific/Auckland", d("2027-02-01")),
        ("America/Los_Angeles", d("2027-01-01")),
        ("UTC", d("2027-01-01")),
    ],
)
def test_enabling_near_utc_midnight_uses_the_local_date(zone, first_billing_date):
    organisation = make_organisation(zone, "USD", "US")
    instant = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)
    subscription = services.enable_connector(organisation, make_user(organisation), None, "", now=instant)
    assert subscription.first_billing_date == first_billing_date
    run_billing(datetime(2027, 2, 1, 12, tzinfo=UTC))
    assert billed(organisation)[0] == first_billing_date


def test_invoice_numbers_are_unique_sequential_per_year_and_gap_free(db):
    for zone in ("UTC", "Europe/London", "Australia/Perth"):
        organisation = make_organisation(zone, "GBP", "GB")
        services.enable_connector(
            organisation, make_user(organisation), None, "", now=local_noon(d("2027-10-10"), zone)
        )
    run_billing(datetime(2028, 2, 2, 12, tzinfo=UTC))
    numbers = sorted(BillingInvoice.objects.values_list("period_start__year", "number"))
    assert [n for _, n in numbers] == [
        "LL-2027-000001",
        "LL-2027-000002",
        "LL-2027-000003",
        *[f"LL-2028-{i:06d}" for i in range(1, 7)],
    ]


def test_run_billing_command_bills_as_of_a_given_local_date(organisation, admin):
    services.enable_connector(organisation, admin, None, "", now=local_noon(d("2026-11-24"), SYDNEY))
    call_command("run-billing", "--today", "2027-02-01")
    assert billed(organisation) == [d("2027-01-01"), d("2027-02-01")]
    call_command("run-billing", "--today", "2027-02-01")
    assert BillingInvoice.objects.count() == 2


def test_run_billing_command_rejects_a_bad_date(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="2027-01-01"):
        call_command("run-billing", "--today", "01/02/2027")


def test_one_organisations_bad_data_does_not_stop_the_others(caplog):
    broken, healthy = make_organisation(SYDNEY, "AUD"), make_organisation(SYDNEY, "AUD")
    for organisation in (broken, healthy):
        services.enable_connector(
            organisation, make_user(organisation), None, "", now=local_noon(d("2026-11-24"), SYDNEY)
        )
    type(broken).objects.filter(pk=broken.pk).update(time_zone="Mars/Olympus_Mons")
    run = run_billing(local_noon(d("2027-01-02"), SYDNEY))
    assert (run.spans_failed, run.invoices_issued) == (1, 1)
    assert billed(healthy) == [d("2027-01-01")] and billed(broken) == []
    assert f"billing failed for organisation {broken.pk}" in caplog.text
    # Once the data is fixed, the next run bills what was due.
    type(broken).objects.filter(pk=broken.pk).update(time_zone=SYDNEY)
    assert run_billing(local_noon(d("2027-01-03"), SYDNEY)).invoices_issued == 1


def test_the_command_exits_non_zero_when_an_organisation_failed(organisation, admin):
    from django.core.management import CommandError

    services.enable_connector(organisation, admin, None, "", now=datetime(2020, 1, 1, tzinfo=UTC))
    type(organisation).objects.filter(pk=organisation.pk).update(time_zone="Mars/Olympus_Mons")
    with pytest.raises(CommandError, match="1 subscriptions failed"):
        call_command("run-billing")


def test_the_hourly_task_is_a_periodic_huey_task_running_the_job(organisation, admin):
    from ledgerlink.billing.tasks import billing_hourly

    schedule = billing_hourly.task_class()
    assert all(schedule.validate_datetime(datetime(2027, 1, 1, hour, 7)) for hour in range(24))
    assert not schedule.validate_datetime(datetime(2027, 1, 1, 0, 8))
    services.enable_connector(organisation, admin, None, "", now=datetime(2020, 1, 1, tzinfo=UTC))
    result = billing_hourly.call_local()
    assert result.invoices_issued == len(
        rules.billing_dates(d("2020-01-01"), services.local_today(organisation))
    )


@pytest.mark.django_db(transaction=True)  # the plain `db` fixture wraps every test in a transaction
def test_invoice_numbers_are_only_taken_inside_the_invoices_transaction():
    from ledgerlink.billing.invoicing import next_invoice_number

    with pytest.raises(RuntimeError, match="inside the invoice's transaction"):
        next_invoice_number(2027)
