"""The notices tests' world: installer organisations in chosen zones, connected to a ledger whose chart is
cached, mapped with two faults (a 0% tax rate left unmapped, fee lines sent to an archived account), and
invoices pushed through the real sync engine against the in-process fake ledger, so the recap reads
failures exactly as the engine leaves them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from sync.fakes import FakeLedger  # tests/ is on sys.path (rootdir-relative packages)

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Customer, Invoice, Membership, Organisation, Role, TaxRate
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate
from ledgerlink.ledgers.errors import NeedsAttention
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.models import (
    ChartSnapshot,
    Connection,
    LineTypeMapping,
    PaymentAccountMapping,
    TaxRateMapping,
)
from ledgerlink.sync.session import LedgerSession
from ledgerlink.sync.worker import sync_connection

_serial = itertools.count(1)

CHART = Chart(
    accounts=(
        LedgerAccount(
            "acc-200", "200", "Sales", "REVENUE", "ACTIVE", is_revenue=True, accepts_payments=False
        ),
        LedgerAccount(
            "acc-260", "260", "Old sales", "REVENUE", "ARCHIVED", is_revenue=True, accepts_payments=False
        ),
        LedgerAccount("acc-090", "090", "Bank", "BANK", "ACTIVE", is_revenue=False, accepts_payments=True),
    ),
    # No 0% rate: the "GST free" tax rate has nothing to map to yet.
    tax_rates=(LedgerTaxRate("OUTPUT", "GST on Income", Decimal("10"), "ACTIVE", applies_to_revenue=True),),
)


@dataclass
class Shop:
    organisation: Organisation
    connection: Connection
    gst: TaxRate
    free: TaxRate
    customer: Customer
    admin: object
    member: object


def make_user(organisation: Organisation, role: str, email: str | None = None):
    n = next(_serial)
    user = get_user_model().objects.create_user(f"notices{n}", email or f"person{n}@installer.example")
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def save_chart(connection: Connection, chart: Chart = CHART) -> None:
    ChartSnapshot.objects.update_or_create(
        connection=connection,
        defaults={
            "accounts": [dataclasses.asdict(a) for a in chart.accounts],
            "tax_rates": [{**dataclasses.asdict(t), "rate": str(t.rate)} for t in chart.tax_rates],
            "tracking": [],
        },
    )


def make_shop(
    name: str = "Sunny Roofs",
    country: str = "AU",
    time_zone: str | None = None,
    email: str | None = None,
    connected_at: dt.datetime | None = None,
) -> Shop:
    n = next(_serial)
    contact = f"books{n}@installer.example" if email is None else email
    organisation = services.create_organisation(
        f"{name} {n}", country, time_zone=time_zone, accounting_email=contact
    )
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    free = services.create_tax_rate(organisation, "GST free", Decimal("0"))
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Ada Lovelace", email=f"ada{n}@example.com")
    )
    connection = Connection.objects.create(
        organisation=organisation,
        provider="xero",
        tenant_id=f"tenant-{uuid.uuid4()}",
        tenant_name=f"{organisation.name} books",
        refresh_token_issued_at=connected_at,
    )
    save_chart(connection)
    scope = {"organisation": organisation, "provider": "xero"}
    TaxRateMapping.objects.create(
        **scope, tax_rate=gst, account_id="acc-200", account_code="200", ledger_tax_code="OUTPUT"
    )
    PaymentAccountMapping.objects.create(**scope, account_id="acc-090", account_code="090", is_default=True)
    LineTypeMapping.objects.create(**scope, line_type="fee", account_id="acc-260", account_code="260")
    admin = make_user(organisation, Role.ADMIN)
    member = make_user(organisation, Role.MEMBER)
    return Shop(organisation, connection, gst, free, customer, admin, member)


def issue(shop: Shop, amount: str, tax_rate: TaxRate, line_type: str = "system") -> Invoice:
    today = services.organisation_today(shop.organisation)
    draft = services.create_invoice(
        shop.organisation,
        services.InvoiceInput(
            customer_id=shop.customer.pk,
            kind="custom",
            due_date=today + dt.timedelta(days=14),
            tax_inclusive=True,
            lines=[services.LineInput(line_type, "Solar work", Decimal(1), Decimal(amount), tax_rate.pk)],
        ),
    )
    return services.issue_invoice(draft)


def push(shop: Shop, ledger: FakeLedger | None = None) -> FakeLedger:
    """Run the engine on the shop's connection until nothing is claimed."""
    ledger = ledger or FakeLedger()
    for _ in range(20):
        shop.connection.refresh_from_db()
        mapping = resolve_mapping(shop.organisation, "xero")
        session = LedgerSession(shop.connection, ledger, mapping, chart=chart_for(shop.connection))
        if not sync_connection(shop.connection.pk, session=session).claimed:
            break
    return ledger


@dataclass
class Failures:
    free: list[Invoice]  # wait for the 0% tax rate
    fee: list[Invoice]  # wait for the fee lines' (archived) account
    numbering: list[Invoice]  # refused by the ledger itself
    synced: list[Invoice]


def fail_some(shop: Shop) -> Failures:
    """Two invoices on the unmapped 0% rate, one with fee lines on the archived account, one the ledger
    refuses for its own numbering setting, and one that goes through."""
    free = [issue(shop, "1100.00", shop.free), issue(shop, "2350.50", shop.free)]
    fee = [issue(shop, "99.00", shop.gst, line_type="fee")]
    numbering = [issue(shop, "12500.00", shop.gst)]
    synced = [issue(shop, "440.00", shop.gst)]
    ledger = FakeLedger()
    ledger.rejects[str(numbering[0].pk)] = NeedsAttention(
        "The invoice number does not follow the ledger's numbering settings.", configuration=True, status=400
    )
    push(shop, ledger)
    return Failures(free, fee, numbering, synced)


def at_local(time_zone: str, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(time_zone)).astimezone(dt.UTC)


def bodies(message: EmailMessage) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


_HREF = re.compile(r'href="([^"]+)"')
_URL = re.compile(r"https?://\S+")


def html_links(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in _HREF.findall(html)]


def text_links(text: str) -> list[str]:
    return _URL.findall(text)


def local_path(url: str) -> str:
    """A link of ours as the test client asks for it: path and query, fragment dropped."""
    url = url.strip()
    parts = urlsplit(url)
    assert url.startswith(settings.PUBLIC_URL), url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def assert_links_open_for_members_only(links: list[str], shop: Shop, outsider) -> None:
    """Each link of ours opens for a member of the shop (mentioning it), is a 404 for a member of another
    organisation and sends an anonymous visitor to sign in; the unsubscribe link needs no sign-in."""
    from django.test import Client

    member, stranger, anonymous = Client(), Client(), Client()
    member.force_login(shop.member)
    stranger.force_login(outsider)
    for link in set(links):
        path = local_path(link)
        if "/notices/unsubscribe/" in path:
            assert anonymous.get(path).status_code == 200, path
            continue
        page = member.get(path)
        assert page.status_code == 200, path
        assert shop.organisation.name in page.content.decode(), path
        assert stranger.get(path).status_code == 404, path
        assert anonymous.get(path).status_code == 302, path
