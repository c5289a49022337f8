"""The notice schedules. Like the sync schedules (sync/sweeper.py) each run acts on what is due now, never on
"its" slot: huey's crontab is UTC and skips runs missed while no scheduler was up.

- Recaps: an organisation is due once its local clock has passed its recap hour, and stays due for the rest
  of that local day until its notice for the day is closed; a run after downtime still sends the morning's
  recap, later. A day whose morning check finds nothing closes without an email.
- Alerts: every run lists the open incidents; each has a key, so it is told once however often it is seen.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ledgerlink.billing.models import BillingInvoice, InvoiceStatus, Subscription, SubscriptionStatus
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.notices import links
from ledgerlink.notices.grouping import build_recap
from ledgerlink.notices.models import DEFAULT_RECAP_HOUR, Notice, NoticeKind, NoticeSettings, NoticeState
from ledgerlink.notices.recap import failed_items
from ledgerlink.notices.render import Alert, alert_email, recap_email
from ledgerlink.notices.sending import send_notice
from ledgerlink.sync.sweeper import KEEP_ALIVE_AFTER

log = logging.getLogger(__name__)

TRIAL_WARNING = dt.timedelta(days=3)
# The connector's invoices are payable on receipt; after two weeks unpaid, the organisation is told.
OVERDUE_AFTER = dt.timedelta(days=14)
# The keep-alive refreshes a sign-in after KEEP_ALIVE_AFTER; one still that old a week later is failing to
# refresh and will soon die of idleness (the shortest idle lifetime of a ledger's refresh token is 60 days).
TOKEN_WARNING_AGE = KEEP_ALIVE_AFTER + dt.timedelta(days=7)


def local_now(organisation: Organisation, now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(organisation.time_zone))


def recap_hour(organisation: Organisation) -> int:
    saved = NoticeSettings.objects.filter(organisation=organisation).values_list("recap_hour", flat=True)
    return next(iter(saved), DEFAULT_RECAP_HOUR)


def _closed(organisation: Organisation, kind: str, key: str) -> bool:
    notices = Notice.objects.filter(organisation=organisation, kind=kind, key=key)
    return notices.exclude(state=NoticeState.PENDING).exists()


def due_recaps(now: dt.datetime) -> list[tuple[Connection, dt.date]]:
    """Live connections whose organisation's recap hour has passed today (local) and whose recap for that
    day is not closed yet."""
    due = []
    live = Connection.objects.exclude(status=ConnectionStatus.DISCONNECTED).select_related("organisation")
    for connection in live.order_by("pk"):
        organisation = connection.organisation
        local = local_now(organisation, now)
        if local.hour >= recap_hour(organisation) and not _closed(
            organisation, NoticeKind.RECAP, local.date().isoformat()
        ):
            due.append((connection, local.date()))
    return due


def send_recap(connection: Connection, day: dt.date, now: dt.datetime) -> Notice | None:
    organisation = connection.organisation
    recap = build_recap(failed_items(organisation, connection))
    render = None if recap.empty else functools.partial(recap_email, organisation, connection, recap, day)
    return send_notice(organisation, NoticeKind.RECAP, day.isoformat(), now, render)


def run_recaps(now: dt.datetime) -> int:
    """Send every recap due at `now`; returns how many notices this run closed (sent or found empty)."""
    closed = 0
    for connection, day in due_recaps(now):
        try:
            closed += send_recap(connection, day, now) is not None
        except Exception:
            # One organisation's bad data must not keep the others' recaps back; its day stays due.
            log.exception("recap for organisation %s failed", connection.organisation_id)
    return closed


@dataclass(frozen=True)
class Incident:
    organisation: Organisation
    kind: str
    key: str
    alert: Alert


def _reconnect(connection: Connection) -> Incident:
    ledger = connection.get_provider_display()
    organisation = connection.organisation
    # A reconnect gives the connection a new sign-in date: the next loss of access is a new incident.
    since = connection.refresh_token_issued_at or connection.connected_at
    return Incident(
        organisation,
        NoticeKind.RECONNECT,
        f"connection:{connection.pk}:{since.isoformat()}",
        Alert(
            subject=f"{organisation.name}: reconnect {ledger} to keep invoices syncing",
            headline=f"{ledger} stopped accepting LedgerLink for {organisation.name}",
            paragraphs=(
                connection.last_error or f"{ledger} no longer accepts LedgerLink's sign-in.",
                f"Syncing to {connection.tenant_name or ledger} is paused: new invoices and payments wait, "
                "none is lost. An administrator can reconnect in a minute.",
            ),
            action=f"Reconnect {ledger}",
            action_url=links.organisation_page(organisation.pk),
        ),
    )


def _token_expiring(connection: Connection) -> Incident:
    ledger = connection.get_provider_display()
    organisation = connection.organisation
    issued = connection.refresh_token_issued_at
    assert issued is not None  # selected on it
    return Incident(
        organisation,
        NoticeKind.TOKEN_EXPIRING,
        f"connection:{connection.pk}:{issued.isoformat()}",
        Alert(
            subject=f"{organisation.name}: LedgerLink's {ledger} sign-in is about to expire",
            headline=f"LedgerLink's sign-in to {ledger} expires soon",
            paragraphs=(
                f"LedgerLink could not renew its sign-in to {connection.tenant_name or ledger} since "
                f"{issued:%d %B %Y}. If it expires, syncing stops until someone reconnects.",
                "Reconnecting now renews it.",
            ),
            action=f"Reconnect {ledger}",
            action_url=links.organisation_page(organisation.pk),
        ),
    )


def _trial_ending(subscription: Subscription, days: int) -> Incident:
    organisation = subscription.organisation
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return Incident(
        organisation,
        NoticeKind.TRIAL_ENDING,
        f"trial:{subscription.trial_ends_on.isoformat()}",
        Alert(
            subject=f"{organisation.name}: your LedgerLink trial ends {when}",
            headline=f"Your free trial ends {when}, on {subscription.trial_ends_on:%d %B %Y}",
            paragraphs=(
                f"The connector keeps syncing after the trial; billing starts on "
                f"{subscription.first_billing_date:%d %B %Y} at {subscription.price:.2f} "
                f"{subscription.currency} a month.",
                "To stop before then, cancel the connector in LedgerLink's billing page.",
            ),
            action="Review the subscription",
            action_url=links.organisation_page(organisation.pk),
        ),
    )


def _overdue(invoice: BillingInvoice) -> Incident:
    organisation = invoice.organisation
    return Incident(
        organisation,
        NoticeKind.INVOICE_OVERDUE,
        f"invoice:{invoice.pk}",
        Alert(
            subject=f"{organisation.name}: LedgerLink invoice {invoice.number} is overdue",
            headline=f"Invoice {invoice.number} is overdue",
            paragraphs=(
                f"LedgerLink's invoice {invoice.number} for {invoice.period_start:%B %Y}, "
                f"{invoice.amount:.2f} {invoice.currency}, was emailed on {invoice.emailed_at:%d %B %Y} "
                "and is not paid yet.",
            ),
            action="View the invoice",
            action_url=links.billing_invoice(invoice.organisation_id, invoice.pk),
        ),
    )


def open_incidents(now: dt.datetime) -> list[Incident]:
    connections = Connection.objects.select_related("organisation").order_by("pk")
    found = [_reconnect(c) for c in connections.filter(status=ConnectionStatus.NEEDS_RECONNECT)]
    stale = connections.filter(
        status=ConnectionStatus.ACTIVE, refresh_token_issued_at__lt=now - TOKEN_WARNING_AGE
    )
    found += [_token_expiring(c) for c in stale]
    trials = Subscription.objects.filter(status=SubscriptionStatus.TRIAL).select_related("organisation")
    for subscription in trials:
        left = subscription.trial_ends_on - local_now(subscription.organisation, now).date()
        if dt.timedelta(0) <= left <= TRIAL_WARNING:
            found.append(_trial_ending(subscription, left.days))
    overdue = BillingInvoice.objects.filter(
        status__in=(InvoiceStatus.ISSUED, InvoiceStatus.FAILED),
        emailed_at__isnull=False,
        issued_at__lt=now - OVERDUE_AFTER,
    ).select_related("organisation")
    found += [_overdue(invoice) for invoice in overdue.order_by("pk")]
    return found


def run_alerts(now: dt.datetime) -> int:
    """Tell every open incident not told yet; returns how many notices this run closed."""
    closed = 0
    for incident in open_incidents(now):
        if _closed(incident.organisation, incident.kind, incident.key):
            continue
        render = functools.partial(alert_email, incident.organisation, incident.kind, incident.alert)
        try:
            closed += send_notice(incident.organisation, incident.kind, incident.key, now, render) is not None
        except Exception:
            log.exception("%s alert for organisation %s failed", incident.kind, incident.organisation.pk)
    return closed
