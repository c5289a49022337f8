"""Template filters for the organisation's formats: `{{ amount|money:organisation }}`,
`{{ day|orgdate:organisation }}`, `{{ rate|percent }}`. The currency defaults to the organisation's own."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ledgerlink.cashflow.money import from_minor
from ledgerlink.web import formatting

register = template.Library()


@register.filter
def money(amount: Decimal | None, organisation: Any) -> str:
    return formatting.money(amount, organisation.home_currency, organisation.country)


@register.filter
def minor_money(minor: int | None, organisation: Any) -> str:
    """Stored minor units (cents, pence) in the organisation's currency."""
    return "" if minor is None else money(from_minor(minor), organisation)


@register.simple_tag
def money_in(amount: Decimal | None, currency: str, organisation: Any) -> str:
    return formatting.money(amount, currency, organisation.country)


@register.filter
def orgdate(value: datetime.date | None, organisation: Any) -> SafeString | str:
    """A <time> element: the machine-readable date beside the organisation's way of writing it; datetimes in
    the organisation's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value, ZoneInfo(organisation.time_zone))
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), formatting.date(value, organisation.country)
    )


@register.filter
def percent(rate: Decimal | None) -> str:
    return formatting.percent(rate)
