"""Enabling, cancelling and the connect gate: who may, what is recorded, one trial ever."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from ledgerlink.billing import services
from ledgerlink.billing.models import Enablement, SubscriptionStatus, TermsAcceptance
from ledgerlink.cashflow.models import Role
from ledgerlink.ledgers.signals import ConnectBlocked, connect_requested

from .helpers import local_noon, make_organisation, make_user

pytestmark = pytest.mark.django_db
SYDNEY = "Australia/Sydney"


def enable(organisation, user, day: date, **kwargs):
    return services.enable_connector(
        organisation,
        user,
        "203.0.113.9",
        "Mozilla/5.0 (test)",
        now=local_noon(day, organisation.time_zone),
        **kwargs,
    )


def cancel(organisation, user, day: date):
    return services.cancel_connector(organisation, user, now=local_noon(day, organisation.time_zone))


def test_enable_records_who_when_price_terms_and_where(organisation, admin):
    subscription = enable(organisation, admin, date(2026, 11, 24))
    acceptance = TermsAcceptance.objects.get(organisation=organisation)
    assert (acceptance.user, acceptance.user_email) == (admin, admin.email)
    assert acceptance.accepted_at == local_noon(date(2026, 11, 24), SYDNEY)
    assert (acceptance.price_minor, acceptance.currency) == (6900, "AUD")
    assert acceptance.terms_version == services.TERMS_VERSION
    assert (acceptance.ip_address, acceptance.user_agent) == ("203.0.113.9", "Mozilla/5.0 (test)")
    assert acceptance.starts_trial
    assert subscription.status == SubscriptionStatus.TRIAL
    assert (subscription.enabled_on, subscription.trial_ends_on, subscription.first_billing_date) == (
        date(2026, 11, 24),
        date(2026, 12, 24),
        date(2027, 1, 1),
    )
    assert (subscription.price_minor, subscription.currency) == (6900, "AUD")


@pytest.mark.parametrize(
    ("currency", "country", "price_minor", "billed_in"),
    [
        ("USD", "US", 4900, "USD"),
        ("GBP", "GB", 4900, "GBP"),
        ("AUD", "AU", 6900, "AUD"),
        ("NZD", "NZ", 4900, "USD"),
    ],
)
def test_price_follows_the_organisations_currency(currency, country, price_minor, billed_in):
    organisation = make_organisation("UTC", currency, country)
    subscription = enable(organisation, make_user(organisation), date(2027, 3, 3))
    assert (subscription.price_minor, subscription.currency) == (price_minor, billed_in)


def test_only_an_administrator_can_enable_or_cancel(organisation, admin, member):
    with pytest.raises(PermissionDenied):
        enable(organisation, member, date(2027, 1, 5))
    assert not TermsAcceptance.objects.exists()
    enable(organisation, admin, date(2027, 1, 5))
    with pytest.raises(PermissionDenied):
        cancel(organisation, member, date(2027, 1, 6))
    outsider = make_user(make_organisation(), Role.ADMIN)
    with pytest.raises(PermissionDenied):
        cancel(organisation, outsider, date(2027, 1, 6))
    assert services.can_connect(organisation)


def test_enabling_twice_changes_and_records_nothing(organisation, admin):
    first = enable(organisation, admin, date(2027, 1, 5))
    again = enable(organisation, admin, date(2027, 1, 9))
    assert again.pk == first.pk and again.enabled_on == date(2027, 1, 5)
    assert TermsAcceptance.objects.count() == 1 and Enablement.objects.count() == 1


def test_one_trial_per_organisation_ever(organisation, admin):
    enable(organisation, admin, date(2026, 11, 24))
    cancel(organisation, admin, date(2026, 12, 2))
    again = enable(organisation, admin, date(2027, 3, 10))
    # The trial stays anchored on the first enable; the re-enable bills from the next 1st.
    assert (again.enabled_on, again.trial_ends_on, again.first_billing_date) == (
        date(2026, 11, 24),
        date(2026, 12, 24),
        date(2027, 1, 1),
    )
    assert again.status == SubscriptionStatus.ACTIVE
    assert again.enablements.order_by("id").last().billing_from == date(2027, 4, 1)
    assert services.next_invoice_on(again) == date(2027, 4, 1)
    assert [a.starts_trial for a in TermsAcceptance.objects.order_by("accepted_at")] == [True, False]
    # And the database refuses a second trial even if code tried.
    with pytest.raises(IntegrityError), transaction.atomic():
        TermsAcceptance.objects.create(
            organisation=organisation,
            user=admin,
            accepted_at=local_noon(date(2027, 3, 11), SYDNEY),
            price_minor=6900,
            currency="AUD",
            terms_version="x",
            starts_trial=True,
        )


def test_re_enable_inside_the_trial_continues_that_trial(organisation, admin):
    enable(organisation, admin, date(2026, 11, 24))
    cancel(organisation, admin, date(2026, 11, 30))
    again = enable(organisation, admin, date(2026, 12, 5))
    assert again.status == SubscriptionStatus.TRIAL
    assert again.enablements.order_by("id").last().billing_from == date(2027, 1, 1)


def test_cancel_when_not_enabled_says_so(organisation, admin):
    with pytest.raises(services.NotEnabled):
        cancel(organisation, admin, date(2027, 1, 1))
    enable(organisation, admin, date(2027, 1, 1))
    cancel(organisation, admin, date(2027, 1, 2))
    with pytest.raises(services.NotEnabled):
        cancel(organisation, admin, date(2027, 1, 3))


def test_enabled_on_is_the_organisations_local_date(db):
    # 2026-11-23 11:30 UTC is already 24 November 00:30 in Auckland, and still 23 November in Los Angeles.
    from datetime import UTC, datetime

    instant = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    auckland = make_organisation("Pacific/Auckland", "NZD", "NZ")
    los_angeles = make_organisation("America/Los_Angeles", "USD", "US")
    nz = services.enable_connector(auckland, make_user(auckland), None, "", now=instant)
    us = services.enable_connector(los_angeles, make_user(los_angeles), None, "", now=instant)
    assert (nz.enabled_on, nz.trial_ends_on) == (date(2026, 11, 24), date(2026, 12, 24))
    assert (us.enabled_on, us.trial_ends_on) == (date(2026, 11, 23), date(2026, 12, 23))


def ask_to_connect(organisation, user):
    connect_requested.send(sender=None, organisation=organisation, user=user, provider="xero")


def test_nothing_connects_before_the_terms_are_accepted_or_after_cancelling(organisation, admin):
    assert not services.can_connect(organisation)
    with pytest.raises(ConnectBlocked, match="agree to the pricing terms"):
        ask_to_connect(organisation, admin)
    enable(organisation, admin, date(2027, 1, 5))
    assert services.can_connect(organisation)
    ask_to_connect(organisation, admin)
    cancel(organisation, admin, date(2027, 2, 5))
    assert not services.can_connect(organisation)
    with pytest.raises(ConnectBlocked, match="cancelled"):
        ask_to_connect(organisation, admin)
    enable(organisation, admin, date(2027, 2, 6))
    ask_to_connect(organisation, admin)


def test_the_gate_is_per_organisation(organisation, admin):
    enable(organisation, admin, date(2027, 1, 5))
    other = make_organisation()
    with pytest.raises(ConnectBlocked):
        ask_to_connect(other, make_user(other))


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 2001:db8::1 ", "2001:db8::1"),
        ("unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_the_recorded_ip_address_is_an_address_or_nothing(organisation, admin, given, stored):
    services.enable_connector(
        organisation, admin, given, "x" * 2000, now=local_noon(date(2027, 1, 5), SYDNEY)
    )
    acceptance = TermsAcceptance.objects.get()
    assert acceptance.ip_address == stored
    assert len(acceptance.user_agent) == services.USER_AGENT_MAX
