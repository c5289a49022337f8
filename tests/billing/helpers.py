"""Billing test helpers: organisations in chosen zones and currencies, their people, local instants."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from ledgerlink.cashflow.models import Membership, Organisation, Role

_serial = itertools.count(1)


def make_organisation(
    time_zone: str = "Australia/Sydney", currency: str = "AUD", country: str = "AU", email: str | None = None
) -> Organisation:
    n = next(_serial)
    return Organisation.objects.create(
        name=f"Installer {n}",
        country=country,
        home_currency=currency,
        time_zone=time_zone,
        accounting_email=f"accounts{n}@installer.example" if email is None else email,
    )


def make_user(organisation: Organisation, role: str = Role.ADMIN):
    n = next(_serial)
    user = get_user_model().objects.create_user(f"user{n}", f"user{n}@installer.example", None)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def local_noon(day: date, time_zone: str) -> datetime:
    """Midday of `day` in `time_zone`, as an aware UTC instant (safely inside that local day)."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
