"""The sync console through its pages, against the real Xero sandbox: push history with a live progress
bar, see each invoice's status and why, fix the mapping and watch the failed one go through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledgerlink.cashflow import services
from ledgerlink.ledgers.models import Connection, LineTypeMapping
from ledgerlink.sync import doorbell
from ledgerlink.sync.worker import sync_connection

from .world import PASSWORD, connect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def doorbells(monkeypatch):
    """The test drives the worker itself instead of a huey consumer."""
    monkeypatch.setattr(doorbell, "ring", lambda connection_id, delay_s=None: None)


def _issue(organisation, customer, tax_rate, amount: str, line_type: str = "system"):
    invoice = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer_id=customer.pk,
            kind="custom",
            due_date=services.organisation_today(organisation) + dt.timedelta(days=14),
            tax_inclusive=True,
            lines=(services.LineInput(line_type, "Solar work", Decimal(1), Decimal(amount), tax_rate.pk),),
        ),
    )
    return services.issue_invoice(invoice)


def _drain(connection: Connection) -> None:
    for _ in range(5):
        if not sync_connection(connection.pk, budget_s=20).claimed:
            return


def test_history_push_status_and_a_fix_through_the_pages(client, xero_sandbox, xero_app, installer):
    organisation, gst, _free, *_ = installer
    customer = services.create_customer(organisation, services.CustomerInput("Jo Citizen", "jo@example.com"))
    sent = [_issue(organisation, customer, gst, amount) for amount in ("11000.00", "2200.55", "330.10")]
    stuck = _issue(organisation, customer, gst, "107.50", line_type="fee")

    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Solar Pty Ltd")
    client.login(username="alex", password=PASSWORD)
    client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"})
    connect(client, xero_sandbox, organisation, tenant_id)
    connection = Connection.objects.get(organisation=organisation)
    mapping_url = f"/orgs/{organisation.pk}/mapping/"
    page = client.get(mapping_url)
    proposed = page.context["form"].initial
    # Fees go to their own account, archived in the ledger since it was mapped (the form never offers an
    # archived one): the pre-flight check holds that invoice.
    archived = next(a for a in page.context["chart"].accounts if a.status == "ARCHIVED" and a.is_revenue)
    assert client.post(mapping_url, proposed).status_code == 302
    LineTypeMapping.objects.create(
        organisation=organisation,
        provider="xero",
        line_type="fee",
        account_id=archived.id,
        account_code="205",
    )

    started = client.post(f"/orgs/{organisation.pk}/history/", {"date_from": "", "date_to": ""}, follow=True)
    assert b"Pushing 4 historical invoices" in started.content
    push = started.context["push"]
    _drain(connection)

    progress = client.get(f"/orgs/{organisation.pk}/history/{push.pk}/")
    assert b"3 of 4 synced" in progress.content and b"1 need attention" in progress.content

    listing = client.get(f"/orgs/{organisation.pk}/invoices/")
    rows = {row.invoice.number: row for row in listing.context["rows"]}
    assert {rows[i.number].label for i in sent} == {"synced"}
    assert rows[stuck.number].label == "error"
    assert "archived" in rows[stuck.number].message
    needs = client.get(f"/orgs/{organisation.pk}/invoices/", {"sync": "needs_attention"}).context["rows"]
    assert [r.invoice.number for r in needs] == [stuck.number]
    # The failure links to the setting that fixes it; a retry before the fix says it would fail again.
    assert rows[stuck.number].fix.url == mapping_url and rows[stuck.number].fix.retry_would_fail
    retried = client.post(f"/orgs/{organisation.pk}/invoices/{stuck.pk}/retry/", follow=True)
    assert "would fail again at once. First fix the mapping" in retried.content.decode()
    # The table refreshes itself: an htmx poll gets the rows only.
    poll = client.get(f"/orgs/{organisation.pk}/invoices/", headers={"HX-Request": "true"}).content.decode()
    assert poll.startswith('<tbody id="invoice-rows"') and 'hx-trigger="every 3s"' in poll
    page = client.get(f"/orgs/{organisation.pk}/invoices/{stuck.pk}/").content.decode()
    assert f'href="{mapping_url}">Fix the mapping' in page and "No payments yet." in page
    preview = client.get(f"/orgs/{organisation.pk}/invoices/{sent[0].pk}/preview/").content.decode()
    assert (
        "<h2>Ledger lines</h2>" in preview
        and "<details>" in preview
        and "$11,000.00" in page_of(client, organisation)
    )

    # The user clears the fee account (fees fall back to GST's); saving re-queues what it can fix.
    client.post(mapping_url, proposed)
    _drain(connection)

    ledger = {i["InvoiceNumber"]: i for i in xero_sandbox.control.ledger(tenant_id)["Invoices"]}
    assert sorted(ledger) == sorted(i.number for i in [*sent, stuck])
    for invoice in [*sent, stuck]:
        assert Decimal(str(ledger[invoice.number]["Total"])) == invoice.total
    done = client.get(f"/orgs/{organisation.pk}/history/{push.pk}/")
    assert b"4 of 4 synced" in done.content


def test_members_cannot_retry_or_push(client, installer):
    organisation, *_ = installer
    client.login(username="sam", password=PASSWORD)
    assert client.post(f"/orgs/{organisation.pk}/retry/").status_code == 403
    assert client.post(f"/orgs/{organisation.pk}/history/", {}).status_code == 403


def test_an_upside_down_range_is_refused_in_plain_words(client, installer):
    organisation, *_ = installer
    client.login(username="alex", password=PASSWORD)
    response = client.post(
        f"/orgs/{organisation.pk}/history/", {"date_from": "2026-05-01", "date_to": "2026-04-01"}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and "before" in shown[0]


def test_a_revoked_grant_shows_a_banner_until_the_admin_reconnects(client, xero_sandbox, xero_app, installer):
    organisation, gst, *_ = installer
    customer = services.create_customer(organisation, services.CustomerInput("Lee Chan", "lee@example.com"))
    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Solar Pty Ltd")
    client.login(username="alex", password=PASSWORD)
    client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"})
    connect(client, xero_sandbox, organisation, tenant_id)
    mapping_url = f"/orgs/{organisation.pk}/mapping/"
    client.post(mapping_url, client.get(mapping_url).context["form"].initial)
    connection = Connection.objects.get(organisation=organisation)

    xero_sandbox.control.revoke_tokens(client_id=xero_app.client_id)
    xero_sandbox.control.expire_tokens(client_id=xero_app.client_id)
    invoice = _issue(organisation, customer, gst, "550.00")
    _drain(connection)
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"
    page = client.get("/")
    assert b"syncing is paused until an administrator" in page.content
    assert b"Reconnect Xero" in client.get(f"/orgs/{organisation.pk}/").content

    connect(client, xero_sandbox, organisation, tenant_id)
    connection.refresh_from_db()
    assert connection.status == "active"
    _drain(connection)
    assert b"syncing is paused" not in client.get("/").content
    numbers = [i["InvoiceNumber"] for i in xero_sandbox.control.ledger(tenant_id)["Invoices"]]
    assert numbers == [invoice.number]


def page_of(client, organisation) -> str:
    return client.get(f"/orgs/{organisation.pk}/invoices/").content.decode()
