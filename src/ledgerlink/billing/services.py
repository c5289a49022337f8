"""Enabling and cancelling the connector, and the connect gate. The dates come from `rules`; "today" is the
organisation's local date in its IANA time zone."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledgerlink.billing import rules
from ledgerlink.billing.models import Enablement, Subscription, SubscriptionStatus, TermsAcceptance
from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.signals import sync_allowed_again

# The pricing terms an administrator agrees to. A change of wording or price is a new version.
TERMS_VERSION = "2026-11"
USER_AGENT_MAX = 512


class NotEnabled(Exception):
    """Cancelling a connector that is not enabled."""


def local_today(organisation: Organisation, now: datetime | None = None) -> date:
    """The organisation's calendar date at `now` (default: the current instant)."""
    return (now or timezone.now()).astimezone(ZoneInfo(organisation.time_zone)).date()


def _require_admin(organisation: Organisation, user: AbstractBaseUser) -> None:
    if not access.is_admin(user, organisation):
        raise PermissionDenied(
            "Only an administrator of this organisation can change the connector subscription."
        )


def valid_ip(candidate: str | None) -> str | None:
    """`candidate` if it is an IPv4/IPv6 address, else None (a proxy's "unknown" must not fail enabling)."""
    try:
        return str(ipaddress.ip_address((candidate or "").strip()))
    except ValueError:
        return None


def _locked_subscription(organisation: Organisation) -> Subscription | None:
    return Subscription.objects.select_for_update().filter(organisation=organisation).first()


@dataclass(frozen=True)
class AgreementSource:
    """Where an agreement came from (what the request said)."""

    ip_address: str | None
    user_agent: str
    terms_version: str = TERMS_VERSION


def enable_connector(
    organisation: Organisation,
    user: AbstractBaseUser,
    ip: str | None,
    user_agent: str,
    terms_version: str = TERMS_VERSION,
    now: datetime | None = None,
) -> Subscription:
    """An administrator agrees to the pricing terms and enables the connector. The first enable ever starts
    the one trial; a re-enable after cancelling bills from the next 1st. Enabling what is already enabled
    changes nothing and records nothing."""
    _require_admin(organisation, user)
    now = now or timezone.now()
    today = local_today(organisation, now)
    offer = rules.offered_price(organisation.home_currency)
    source = AgreementSource(ip, user_agent, terms_version)
    try:
        return _enable(organisation, user, source, offer, now, today)
    except IntegrityError:
        # Two first enables raced: there was no row to lock yet, so the database's one-trial constraint
        # stopped the loser. Its transaction rolled back whole; now the winner's row exists and is returned.
        return _enable(organisation, user, source, offer, now, today)


def _enable(
    organisation: Organisation,
    user: AbstractBaseUser,
    source: AgreementSource,
    offer: rules.Price,
    now: datetime,
    today: date,
) -> Subscription:
    with transaction.atomic():
        subscription = _locked_subscription(organisation)
        if subscription is not None and subscription.is_enabled:
            return subscription
        acceptance = TermsAcceptance.objects.create(
            organisation=organisation,
            user_id=user.pk,
            user_email=getattr(user, "email", "") or "",
            accepted_at=now,
            price_minor=offer.amount_minor,
            currency=offer.currency,
            terms_version=source.terms_version,
            ip_address=valid_ip(source.ip_address),
            user_agent=(source.user_agent or "")[:USER_AGENT_MAX],
            starts_trial=subscription is None,
        )
        if subscription is None:
            subscription = _start_trial(organisation, acceptance, today)
        else:
            _resume(subscription, acceptance, today)
    return subscription


def _start_trial(organisation: Organisation, acceptance: TermsAcceptance, today: date) -> Subscription:
    subscription = Subscription.objects.create(
        organisation=organisation,
        status=SubscriptionStatus.TRIAL,
        currency=acceptance.currency,
        price_minor=acceptance.price_minor,
        enabled_on=today,
        trial_ends_on=rules.trial_end(today),
        first_billing_date=rules.first_billing_date(today),
    )
    _open_span(subscription, acceptance, today, subscription.first_billing_date)
    return subscription


def _resume(subscription: Subscription, acceptance: TermsAcceptance, today: date) -> None:
    billing_from = rules.resumed_billing_start(subscription.enabled_on, today)
    subscription.status = (
        SubscriptionStatus.TRIAL if today <= subscription.trial_ends_on else SubscriptionStatus.ACTIVE
    )
    subscription.currency = acceptance.currency
    subscription.price_minor = acceptance.price_minor
    subscription.cancelled_on = None
    subscription.save(update_fields=["status", "currency", "price_minor", "cancelled_on", "updated_at"])
    _open_span(subscription, acceptance, today, billing_from)
    # Records held while the subscription had ended go out again once this enable has committed.
    organisation_id = subscription.organisation_id
    transaction.on_commit(
        lambda: sync_allowed_again.send(sender=Subscription, organisation_id=organisation_id)
    )


def _open_span(
    subscription: Subscription, acceptance: TermsAcceptance, today: date, billing_from: date
) -> Enablement:
    return Enablement.objects.create(
        subscription=subscription,
        acceptance=acceptance,
        enabled_on=today,
        billing_from=billing_from,
        next_bill_on=billing_from,
    )


def cancel_connector(
    organisation: Organisation, user: AbstractBaseUser, now: datetime | None = None
) -> Subscription:
    """An administrator cancels: no invoice for any month that begins after today. The current month, if
    already begun while enabled, stays billed (not refunded)."""
    _require_admin(organisation, user)
    today = local_today(organisation, now)
    with transaction.atomic():
        subscription = _locked_subscription(organisation)
        if subscription is None or not subscription.is_enabled:
            raise NotEnabled("The connector is not enabled.")
        subscription.enablements.filter(cancelled_on__isnull=True).update(
            cancelled_on=today, cancelled_by=user
        )
        subscription.status = SubscriptionStatus.CANCELLED
        subscription.cancelled_on = today
        subscription.save(update_fields=["status", "cancelled_on", "updated_at"])
    return subscription


def subscription_of(organisation: Organisation) -> Subscription | None:
    """The organisation's subscription, or None when the connector was never enabled."""
    return Subscription.objects.filter(organisation=organisation).first()


def next_invoice_on(subscription: Subscription) -> date | None:
    """The 1st the next invoice is due, or None while cancelled."""
    open_span = subscription.enablements.filter(cancelled_on__isnull=True).first()
    return open_span.next_bill_on if open_span else None


def can_connect(organisation: Organisation) -> bool:
    """True when an administrator has accepted the terms and the connector is not cancelled."""
    return (
        Subscription.objects.filter(organisation=organisation)
        .exclude(status=SubscriptionStatus.CANCELLED)
        .exists()
    )


def last_served_day(subscription: Subscription) -> date | None:
    """The last local day a cancelled subscription still syncs (its paid month or its trial); None while
    enabled."""
    if subscription.is_enabled or subscription.cancelled_on is None:
        return None
    span = subscription.enablements.exclude(cancelled_on__isnull=True).order_by("-enabled_on", "-id").first()
    billing_from = span.billing_from if span else subscription.first_billing_date
    return rules.last_served_day(subscription.first_billing_date, subscription.cancelled_on, billing_from)


def may_sync(organisation: Organisation, now: datetime | None = None) -> bool:
    """False once a cancelled subscription's paid period or trial is over. An organisation that never
    enabled has no connection to sync (the connect gate), so it is not refused here."""
    subscription = subscription_of(organisation)
    if subscription is None:
        return True
    served = last_served_day(subscription)
    return served is None or local_today(organisation, now) <= served
