"""The daily recap, end to end: failures left by the real engine, the scheduler at chosen instants, the email
received by a real SMTP server (aiosmtpd on loopback), and every link in it opened through the web app."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from ledgerlink.notices import sending
from ledgerlink.notices.models import Delivery, Notice, NoticeKind, NoticeSettings, NoticeState, OptIn
from ledgerlink.notices.schedule import run_recaps
from ledgerlink.sync.models import SyncRecord, SyncState

from .world import (
    assert_links_open_for_members_only,
    at_local,
    bodies,
    fail_some,
    html_links,
    local_path,
    make_shop,
    make_user,
    text_links,
)

pytestmark = pytest.mark.django_db
SYDNEY = "Australia/Sydney"
DAY = dt.date(2027, 3, 10)


@pytest.fixture
def sydney_morning():
    """Failures are made the evening before; the test's clock then stands where each call puts it."""
    with time_machine.travel(at_local(SYDNEY, DAY - dt.timedelta(days=1), 17), tick=False) as traveller:
        yield traveller


def test_the_recap_lists_failures_grouped_by_the_setting_that_fixes_them(smtp_outbox, sydney_morning):
    shop = make_shop(time_zone=SYDNEY, email="books@sunny.example")
    failures = fail_some(shop)
    morning = at_local(SYDNEY, DAY, 8, 5)
    sydney_morning.move_to(morning)
    assert run_recaps(morning) == 1

    (message,) = smtp_outbox
    assert message["To"] == "books@sunny.example"
    assert message["Subject"] == f"{shop.organisation.name}: 4 invoices waiting for a Xero setting"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = bodies(message)
    for body in (text, html):
        assert shop.organisation.name in body and "Xero" in body
        assert "$16,049.50 AUD" in body  # 1,100.00 + 2,350.50 + 99.00 + 12,500.00
        for invoice in failures.free + failures.fee + failures.numbering:
            assert invoice.number in body
        assert failures.synced[0].number not in body
        assert "Ada Lovelace" in body and "Issued 9 Mar 2027" in body  # customer, issue date
        assert "waiting since 9 Mar 2027, 17:00" in body  # when the engine set them aside, local time
    # One group per setting, the largest first; each lists its own invoices only.
    sections = text.split("\n== ")[1:]
    titles = [section.splitlines()[0] for section in sections]
    assert titles == [
        "Xero tax rate for \u201cGST free\u201d ==",
        "Account for fee lines ==",
        "Invoice numbering in Xero ==",
    ]
    assert all(i.number in sections[0] for i in failures.free) and "$3,450.50 AUD" in sections[0]
    assert failures.fee[0].number in sections[1] and failures.free[0].number not in sections[1]
    assert "archived" in sections[1] and "numbering settings" in sections[2]
    assert f'data-setting="tax_rate:{shop.free.pk}.tax_code"' in html
    assert html.count('class="invoice"') == 4

    # The same links in both bodies, each opening the right page of this organisation for a member only.
    links = html_links(html)
    assert sorted(set(links)) == sorted(set(text_links(text)))
    org = shop.organisation.pk
    assert f"http://127.0.0.1:8000/orgs/{org}/mapping/#id_tax_rate:{shop.free.pk}.tax_code" in links
    assert f"http://127.0.0.1:8000/orgs/{org}/notices/retry/?setting=line_type%3Afee.account" in links
    assert f"http://127.0.0.1:8000/orgs/{org}/invoices/?sync=needs_attention" in links
    outsider = make_user(make_shop(time_zone=SYDNEY).organisation, "admin")
    assert_links_open_for_members_only(links, shop, outsider)

    # "Retry these" sends that group again (an administrator's button), and only that group.
    admin, member = Client(), Client()
    admin.force_login(shop.admin)
    member.force_login(shop.member)
    retry = f"/orgs/{org}/notices/retry/?setting=tax_rate%3A{shop.free.pk}.tax_code"
    assert b"Retry these 2" in admin.get(retry).content
    assert member.post(retry).status_code == 403
    assert admin.post(retry).status_code == 302
    waiting = SyncRecord.objects.filter(organisation=shop.organisation, state=SyncState.NEEDS_ATTENTION)
    assert sorted(waiting.values_list("chain", flat=True)) == sorted(
        str(i.pk) for i in failures.fee + failures.numbering
    )
    assert Delivery.objects.get().status == "delivered"


def test_no_failures_no_email_and_the_morning_check_closes_the_day(smtp_outbox, sydney_morning):
    shop = make_shop(time_zone=SYDNEY)
    morning = at_local(SYDNEY, DAY, 8)
    sydney_morning.move_to(morning)
    assert run_recaps(at_local(SYDNEY, DAY, 7, 59)) == 0  # before the hour: not due
    assert run_recaps(morning) == 1
    assert smtp_outbox == []
    assert Notice.objects.get().state == NoticeState.NOTHING
    fail_some(shop)  # the afternoon's failures wait for tomorrow's recap
    assert run_recaps(at_local(SYDNEY, DAY, 15)) == 0 and smtp_outbox == []
    assert run_recaps(at_local(SYDNEY, DAY + dt.timedelta(days=1), 8)) == 1
    assert len(smtp_outbox) == 1


def test_a_scheduler_down_all_morning_sends_the_recap_when_it_returns(smtp_outbox, sydney_morning):
    shop = make_shop(time_zone=SYDNEY)
    fail_some(shop)
    NoticeSettings.objects.create(organisation=shop.organisation, recap_hour=6)
    assert run_recaps(at_local(SYDNEY, DAY, 5, 55)) == 0
    assert run_recaps(at_local(SYDNEY, DAY, 13, 40)) == 1  # nothing ran between 05:55 and 13:40
    assert len(smtp_outbox) == 1


def test_two_schedulers_on_the_same_day_send_one_email(smtp_outbox, sydney_morning, monkeypatch):
    shop = make_shop(time_zone=SYDNEY)
    fail_some(shop)
    morning = at_local(SYDNEY, DAY, 8, 1)
    deliver = sending._deliver
    others: list[int] = []

    def deliver_while_another_scheduler_runs(notice, email, render, connection):
        others.append(run_recaps(morning))  # the second scheduler's run, while the first holds the claim
        return deliver(notice, email, render, connection)

    monkeypatch.setattr(sending, "_deliver", deliver_while_another_scheduler_runs)
    assert run_recaps(morning) == 1
    assert others == [0]
    monkeypatch.setattr(sending, "_deliver", deliver)
    assert run_recaps(morning) == 0 and run_recaps(at_local(SYDNEY, DAY, 23, 59)) == 0
    assert len(smtp_outbox) == 1


def test_a_crash_between_claim_and_send_sends_once_on_recovery(smtp_outbox, sydney_morning):
    shop = make_shop(time_zone=SYDNEY)
    fail_some(shop)
    morning = at_local(SYDNEY, DAY, 8)
    crashed = sending.open_notice(shop.organisation, NoticeKind.RECAP, DAY.isoformat())
    assert sending.claim(crashed, morning) is not None  # ...and the process dies here
    assert run_recaps(morning + dt.timedelta(minutes=5)) == 0  # its claim still holds
    assert smtp_outbox == []
    assert run_recaps(morning + sending.CLAIM_LEASE + dt.timedelta(minutes=1)) == 1
    assert run_recaps(morning + dt.timedelta(hours=2)) == 0
    assert len(smtp_outbox) == 1


def test_a_crash_mid_send_finishes_only_the_recipients_not_yet_told(smtp_outbox, sydney_morning, monkeypatch):
    shop = make_shop(time_zone=SYDNEY, email="books@sunny.example")
    OptIn.objects.create(organisation=shop.organisation, user=shop.admin, kind=NoticeKind.RECAP)
    fail_some(shop)
    morning = at_local(SYDNEY, DAY, 8)
    deliver = sending._deliver

    def die_on_the_second(notice, email, render, connection):
        if Delivery.objects.filter(notice=notice).exists():
            raise RuntimeError("the process was killed")
        return deliver(notice, email, render, connection)

    monkeypatch.setattr(sending, "_deliver", die_on_the_second)
    assert run_recaps(morning) == 0
    assert [m["To"] for m in smtp_outbox] == ["books@sunny.example"]
    monkeypatch.setattr(sending, "_deliver", deliver)
    assert run_recaps(morning + sending.CLAIM_LEASE + dt.timedelta(seconds=1)) == 1
    assert [m["To"] for m in smtp_outbox] == ["books@sunny.example", shop.admin.email]


@pytest.mark.parametrize(
    ("time_zone", "country", "first_sent_utc"),
    [
        ("Pacific/Auckland", "NZ", dt.datetime(2027, 1, 10, 19, tzinfo=dt.UTC)),  # UTC+13: the day before
        ("Europe/London", "GB", dt.datetime(2027, 1, 11, 8, tzinfo=dt.UTC)),
        ("America/Los_Angeles", "US", dt.datetime(2027, 1, 11, 16, tzinfo=dt.UTC)),  # UTC-8
    ],
)
def test_one_recap_per_local_day_either_side_of_midnight_utc(smtp_outbox, time_zone, country, first_sent_utc):
    """Every five minutes for two local days (Monday 11 and Tuesday 12 January 2027): one recap a local day,
    at the local 08:00, whichever UTC date that falls on."""
    zone = ZoneInfo(time_zone)
    monday = dt.datetime(2027, 1, 11, tzinfo=zone).astimezone(dt.UTC)
    with time_machine.travel(monday - dt.timedelta(hours=1), tick=False):
        shop = make_shop(country=country, time_zone=time_zone)
        fail_some(shop)
    sent_at = []
    for step in range(48 * 12):
        now = monday + dt.timedelta(minutes=5 * step)
        if run_recaps(now):
            sent_at.append(now)
    assert sent_at == [first_sent_utc, first_sent_utc + dt.timedelta(days=1)]
    assert [t.astimezone(zone).strftime("%a %H:%M") for t in sent_at] == ["Mon 08:00", "Tue 08:00"]
    keys = Notice.objects.filter(organisation=shop.organisation).values_list("key", flat=True)
    assert sorted(keys) == ["2027-01-11", "2027-01-12"]
    assert len(smtp_outbox) == 2


def test_an_unsubscribed_contact_gets_nothing(smtp_outbox, sydney_morning):
    shop = make_shop(time_zone=SYDNEY, email="books@sunny.example")
    fail_some(shop)
    assert run_recaps(at_local(SYDNEY, DAY, 8)) == 1
    (first,) = smtp_outbox
    link = local_path(first["List-Unsubscribe"].strip().strip("<>"))
    anonymous = Client(enforce_csrf_checks=True)
    assert b"Unsubscribe books@sunny.example?" in anonymous.get(link).content
    assert b"will get no more" in anonymous.post(link).content  # one click, no sign-in, no CSRF token
    smtp_outbox.clear()
    next_day = DAY + dt.timedelta(days=1)
    assert run_recaps(at_local(SYDNEY, next_day, 8)) == 1
    assert smtp_outbox == []
    assert Notice.objects.get(key=next_day.isoformat()).state == NoticeState.NO_RECIPIENTS
    # An administrator who opted in still gets it; the contact still does not.
    OptIn.objects.create(organisation=shop.organisation, user=shop.admin, kind=NoticeKind.RECAP)
    assert run_recaps(at_local(SYDNEY, next_day + dt.timedelta(days=1), 8)) == 1
    assert [m["To"] for m in smtp_outbox] == [shop.admin.email]
    assert Client().get("/notices/unsubscribe/forged-token/").status_code == 404


@pytest.mark.django_db(transaction=True)  # the threads' own connections must see the shop
def test_two_scheduler_processes_racing_send_one_email(smtp_outbox, sydney_morning):
    """Real concurrency (PostgreSQL pass): two threads, each its own database connection, run the same
    morning at once; the unique notice row and the claim let exactly one send."""
    from sync.conftest import in_threads, needs_real_concurrency

    needs_real_concurrency()
    shop = make_shop(time_zone=SYDNEY)
    fail_some(shop)
    morning = at_local(SYDNEY, DAY, 8)
    in_threads(run_recaps, [morning, morning])
    assert len(smtp_outbox) == 1
    assert Notice.objects.get(organisation=shop.organisation).state == NoticeState.SENT
