"""Hundreds of failures stay readable; every delivery is logged with what the SMTP server answered,
including a refusal; the log and the settings are visible to members and changed by administrators only."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.test import Client

from ledgerlink.devtools import smtp_sink
from ledgerlink.notices.models import Delivery, DeliveryStatus, NoticeKind, NoticeSettings, OptIn
from ledgerlink.notices.schedule import run_recaps
from ledgerlink.sync.models import SyncRecord, SyncState

from .world import at_local, bodies, html_links, issue, make_shop, push

pytestmark = pytest.mark.django_db
LONDON = "Europe/London"
DAY = dt.date(2027, 6, 1)


def test_five_hundred_failures_make_a_readable_email_with_a_link_to_the_rest(smtp_outbox):
    with time_machine.travel(at_local(LONDON, DAY - dt.timedelta(days=1), 12), tick=False):
        shop = make_shop(country="GB", time_zone=LONDON)
        invoices = [issue(shop, f"{100 + n}.00", shop.free) for n in range(500)]
        push(shop)
    assert SyncRecord.objects.filter(state=SyncState.NEEDS_ATTENTION, kind="invoice").count() == 500
    assert run_recaps(at_local(LONDON, DAY, 8)) == 1
    (message,) = smtp_outbox
    text, html = bodies(message)
    assert message["Subject"].endswith(": 500 invoices waiting for a Xero setting")
    assert html.count('class="invoice"') == 50 and text.count("\n- INV-") == 50
    assert "This email shows the first 50 of 500 invoices" in text
    assert "\u2026and 450 more in this group." in html
    assert f"/orgs/{shop.organisation.pk}/invoices/?sync=needs_attention" in "".join(html_links(html))
    total = sum(100 + n for n in range(500))
    assert f"\u00a3{total:,}.00 GBP" in text  # the total covers all 500, not the 50 shown
    assert invoices[0].number in text and invoices[-1].number not in text  # oldest first
    assert len(html) < 120_000 and len(text) < 40_000


class RefusingSink(smtp_sink.MailSink):
    """Refuses one address at RCPT, as a server does for a mailbox that does not exist."""

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_smtp(settings):
    from aiosmtpd.controller import Controller

    from ledgerlink.devtools.ports import free_port

    sink = RefusingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port("127.0.0.1"))
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    yield sink.messages
    controller.stop()


def test_the_log_says_who_was_told_and_what_the_server_answered(refusing_smtp):
    with time_machine.travel(at_local(LONDON, DAY - dt.timedelta(days=1), 12), tick=False):
        shop = make_shop(country="GB", time_zone=LONDON, email="nobody@installer.example")
        OptIn.objects.create(organisation=shop.organisation, user=shop.admin, kind=NoticeKind.RECAP)
        issue(shop, "500.00", shop.free)
        push(shop)
    assert run_recaps(at_local(LONDON, DAY, 8)) == 1
    assert [m["To"] for m in refusing_smtp] == [shop.admin.email]
    log = {d.email: d for d in Delivery.objects.all()}
    assert log["nobody@installer.example"].status == DeliveryStatus.BOUNCED
    assert log["nobody@installer.example"].reply.startswith("550")
    assert log[shop.admin.email].status == DeliveryStatus.DELIVERED

    member = Client()
    member.force_login(shop.member)
    page = member.get(f"/orgs/{shop.organisation.pk}/notices/").content.decode()
    assert "Refused by the mail server (550 5.1.1 No such mailbox)" in page
    assert "Accepted by the mail server" in page and shop.admin.email in page
    stranger = Client()
    stranger.force_login(make_shop().admin)
    assert stranger.get(f"/orgs/{shop.organisation.pk}/notices/").status_code == 404


def test_administrators_change_the_settings_members_cannot():
    shop = make_shop()
    url = f"/orgs/{shop.organisation.pk}/notices/"
    member, admin = Client(), Client()
    member.force_login(shop.member)
    admin.force_login(shop.admin)
    change = {"form": "organisation", "accounting_email": "new@installer.example", "recap_hour": "6"}
    assert member.post(url, change).status_code == 403
    assert admin.post(url, change).status_code == 302
    shop.organisation.refresh_from_db()
    assert shop.organisation.accounting_email == "new@installer.example"
    assert NoticeSettings.objects.get(organisation=shop.organisation).recap_hour == 6
    refused = admin.post(url, {**change, "recap_hour": "24"})
    assert refused.status_code == 200 and "less than or equal to 23" in refused.content.decode()
    assert admin.post(url, {"form": "own", "kinds": ["recap", "reconnect"]}).status_code == 302
    kinds = OptIn.objects.filter(user=shop.admin).values_list("kind", flat=True)
    assert sorted(kinds) == ["recap", "reconnect"]


def test_the_demo_mailbox_page_shows_what_the_sink_received(settings, tmp_path):
    from django.core.mail import send_mail

    settings.DATA_DIR = tmp_path
    controller, _sink = smtp_sink.start(folder=tmp_path / "mail")
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
        send_mail("Recap for Sunny Roofs", "Two invoices wait.", None, ["books@sunny.example"])
    finally:
        controller.stop()
    page = Client().get("/_demo/mail/").content.decode()
    assert "Recap for Sunny Roofs" in page and "books@sunny.example" in page and "Two invoices wait." in page
    settings.LEDGERLINK_MODE = "production"
    assert Client().get("/_demo/mail/").status_code == 404
