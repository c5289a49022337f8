"""Alerts: sent at once, once per incident, each with the link that fixes it, through a real SMTP server.
A grant revoked from the ledger's side is noticed by the daily chart reload even when nothing syncs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ledgerlink.billing import services as billing
from ledgerlink.billing.models import BillingInvoice
from ledgerlink.billing.scheduler import run_billing
from ledgerlink.ledgers import charts
from ledgerlink.ledgers.errors import Reconnect
from ledgerlink.ledgers.models import ChartSnapshot, ConnectionStatus
from ledgerlink.notices.models import Notice, NoticeKind
from ledgerlink.notices.schedule import run_alerts
from ledgerlink.sync.sweeper import refresh_stale_charts

from .world import (
    assert_links_open_for_members_only,
    at_local,
    bodies,
    html_links,
    make_shop,
    make_user,
    text_links,
)

pytestmark = pytest.mark.django_db
SYDNEY = "Australia/Sydney"
NOW = dt.datetime(2027, 5, 10, 1, 0, tzinfo=dt.UTC)


def _links_open_for_members_only(message, shop) -> list[str]:
    text, html = bodies(message)
    links = sorted(set(html_links(html)))
    assert links == sorted(set(text_links(text)))
    assert_links_open_for_members_only(links, shop, make_user(make_shop().organisation, "admin"))
    return links


class RevokedLedger:
    def load_chart(self):
        raise Reconnect("The ledger refused access to this organisation. Reconnect it.", code="forbidden")


def test_a_grant_revoked_on_an_idle_connection_is_alerted_once(smtp_outbox, monkeypatch):
    with time_machine.travel(NOW - dt.timedelta(days=3), tick=False):
        shop = make_shop(time_zone=SYDNEY, connected_at=NOW - dt.timedelta(days=3))
    connection = shop.connection
    connection.access_token, connection.access_expires_at = "token", NOW + dt.timedelta(days=1)
    connection.save()
    ChartSnapshot.objects.filter(connection=connection).update(loaded_at=NOW - dt.timedelta(days=2))
    monkeypatch.setattr(charts, "open_ledger", lambda connection: RevokedLedger())
    with time_machine.travel(NOW, tick=False):
        refresh_stale_charts(NOW)  # the daily reload: nothing else touched this connection
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT

    assert run_alerts(NOW) == 1
    (message,) = smtp_outbox
    assert message["To"] == shop.organisation.accounting_email
    assert message["Subject"] == f"{shop.organisation.name}: reconnect Xero to keep invoices syncing"
    text, html = bodies(message)
    assert "refused access to this organisation" in text and "Reconnect Xero" in html
    links = _links_open_for_members_only(message, shop)
    assert f"http://127.0.0.1:8000/orgs/{shop.organisation.pk}/" in links
    assert run_alerts(NOW + dt.timedelta(minutes=1)) == 0 and run_alerts(NOW + dt.timedelta(days=1)) == 0

    # Reconnected, then lost again: a new incident, a new alert.
    connection.status, connection.refresh_token_issued_at = (
        ConnectionStatus.ACTIVE,
        NOW + dt.timedelta(days=2),
    )
    connection.save()
    assert run_alerts(NOW + dt.timedelta(days=2)) == 0
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    connection.save()
    assert run_alerts(NOW + dt.timedelta(days=3)) == 1
    assert len(smtp_outbox) == 2


def test_a_sign_in_the_keep_alive_cannot_renew_is_alerted_before_it_dies(smtp_outbox):
    shop = make_shop(connected_at=NOW - dt.timedelta(days=51))
    assert run_alerts(NOW) == 0
    assert run_alerts(NOW + dt.timedelta(days=2)) == 1  # 53 days without a renewal
    (message,) = smtp_outbox
    assert "about to expire" in message["Subject"]
    _links_open_for_members_only(message, shop)
    assert run_alerts(NOW + dt.timedelta(days=3)) == 0


def test_the_trial_ending_in_three_days_is_told_once(smtp_outbox):
    shop = make_shop(time_zone=SYDNEY)
    enabled = at_local(SYDNEY, dt.date(2027, 4, 20), 12)
    billing.enable_connector(shop.organisation, shop.admin, None, "", now=enabled)
    subscription = billing.subscription_of(shop.organisation)
    assert subscription.trial_ends_on == dt.date(2027, 5, 20)
    assert run_alerts(at_local(SYDNEY, dt.date(2027, 5, 16), 23, 59)) == 0  # four days before
    assert run_alerts(at_local(SYDNEY, dt.date(2027, 5, 17), 0, 1)) == 1
    (message,) = smtp_outbox
    assert message["Subject"] == f"{shop.organisation.name}: your LedgerLink trial ends in 3 days"
    text, _ = bodies(message)
    assert "billing starts on 01 June 2027 at 69.00 AUD a month" in text
    _links_open_for_members_only(message, shop)
    assert run_alerts(at_local(SYDNEY, dt.date(2027, 5, 18), 9)) == 0


def test_an_overdue_connector_invoice_is_told_once_with_a_link_to_it(smtp_outbox):
    shop = make_shop(time_zone=SYDNEY)
    billing.enable_connector(
        shop.organisation, shop.admin, None, "", now=at_local(SYDNEY, dt.date(2027, 4, 20), 12)
    )
    issued_at = at_local(SYDNEY, dt.date(2027, 6, 1), 12)
    with time_machine.travel(issued_at, tick=False):
        run_billing(issued_at)  # issues and emails June's invoice
    invoice = BillingInvoice.objects.get()
    smtp_outbox.clear()
    assert run_alerts(issued_at + dt.timedelta(days=13)) == 0
    assert run_alerts(issued_at + dt.timedelta(days=15)) == 1
    (message,) = smtp_outbox
    assert message["Subject"] == f"{shop.organisation.name}: LedgerLink invoice {invoice.number} is overdue"
    links = _links_open_for_members_only(message, shop)
    assert f"http://127.0.0.1:8000/orgs/{shop.organisation.pk}/billing/invoices/{invoice.pk}" in links
    assert run_alerts(issued_at + dt.timedelta(days=16)) == 0
    assert Notice.objects.filter(kind=NoticeKind.INVOICE_OVERDUE).count() == 1
