"""Notices as emails: the recap and the alerts, HTML and plain text from the same context."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string

from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.models import Connection
from ledgerlink.notices import links
from ledgerlink.notices.grouping import Recap
from ledgerlink.notices.sending import Email, unsubscribe_url


def _render(name: str, context: dict[str, Any]) -> Email:
    return Email(
        subject=context["subject"],
        text=render_to_string(f"notices/{name}.txt", context),
        html=render_to_string(f"notices/{name}.html", context),
    )


def _footer(organisation: Organisation, email: str, kind: str) -> dict[str, Any]:
    return {
        "recipient": email,
        "settings_url": links.notice_settings(organisation.pk),
        "unsubscribe_url": unsubscribe_url(organisation, email, kind),
    }


def recap_subject(organisation: Organisation, ledger: str, recap: Recap) -> str:
    invoices = f"{recap.count} invoice{'s' if recap.count != 1 else ''}"
    return f"{organisation.name}: {invoices} waiting for a {ledger} setting"


def recap_email(
    organisation: Organisation, connection: Connection, recap: Recap, day: dt.date, email: str
) -> Email:
    ledger = connection.get_provider_display()
    zone = ZoneInfo(organisation.time_zone)
    groups = [
        {
            "group": group,
            "setting_url": links.setting_page(organisation.pk, group.setting.key),
            "retry_url": links.retry_page(organisation.pk, group.setting.key),
            # Formatted here: the template's date filter would show UTC.
            "items": [
                {"item": item, "since": f"{item.since.astimezone(zone):%-d %b %Y, %H:%M}"}
                for item in group.shown
            ],
        }
        for group in recap.groups
    ]
    context = {
        "subject": recap_subject(organisation, ledger, recap),
        "organisation": organisation,
        "ledger": ledger,
        "tenant": connection.tenant_name,
        "day": day,
        "recap": recap,
        "groups": groups,
        "all_url": links.waiting_invoices(organisation.pk),
        **_footer(organisation, email, "recap"),
    }
    return _render("recap", context)


@dataclass(frozen=True)
class Alert:
    """An alert's words: what happened, what it means, and the one link that fixes it."""

    subject: str
    headline: str
    paragraphs: tuple[str, ...]
    action: str
    action_url: str


def alert_email(organisation: Organisation, kind: str, alert: Alert, email: str) -> Email:
    context = {
        "subject": alert.subject,
        "organisation": organisation,
        "alert": alert,
        **_footer(organisation, email, kind),
    }
    return _render("alert", context)
