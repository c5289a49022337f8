"""The journey a new customer makes, for each ledger from the same test code, in Debian's headless Chromium
at phone width against a live server and the ledger's sandbox: sign in, enable and agree, connect through
the sandbox's consent page, confirm the proposed mapping, then an invoice issued through the API turns
synced on the open invoices page without a reload. Every action a user takes is counted (the issue's goal:
at most 15 from sign-in to the first synced invoice), and every page of ours is checked for console
errors, failed requests, a heading, labelled fields and no horizontal overflow at 390 px.

Then the days after: an invoice fails on a tax rate nobody mapped, its row links to the fix, the fix
sends it; the history push's bar runs to the end; the ledger revokes the grant, the row links to
Reconnect, and the reconnect sends what waited; billing, and cancelling it after its confirmation.
Screenshots go to tests/artifacts/ (not committed)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model
from ledgers.harness import HARNESSES

from ledgerlink.billing.models import Subscription
from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.ledgers.providers import PROVIDERS
from ledgerlink.ledgers.registry import LEDGERS
from ledgerlink.sync.models import HistoricalPush

from .browser import Journey, off_loop
from .world import PASSWORD

MAX_ACTIONS = 15
# The journey's day (tests never read the wall clock); time ticks on from it so timeouts and polling work.
NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
HISTORY = ("1800.00", "2400.00", "960.00")  # invoices issued before connecting, pushed as history
SYNCED = '[data-status="synced"]'
WAIT_MS = 20_000

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class World:
    """A UK installer with VAT 20% and zero-rated sales, an admin, an API key and invoices issued before
    connecting; the ledger's sandbox, whose app calls back to the live server, holds its UK books."""

    def __init__(self, harness, live_server):
        self.harness, self.provider = harness, harness.provider
        self.connect_label = PROVIDERS[self.provider].connect_label
        self.name = PROVIDERS[self.provider].display_name
        self.base = live_server.url
        self.organisation = services.create_organisation(
            "Harbour Electric", "GB", accounting_email="a@harbour.example"
        )
        self.vat = services.create_tax_rate(self.organisation, "VAT 20%", Decimal("20"))
        services.create_tax_rate(self.organisation, "Zero rated", Decimal("0"))
        admin = get_user_model().objects.create_user("alex", password=PASSWORD)
        Membership.objects.create(user=admin, organisation=self.organisation, role=Role.ADMIN)
        self.tenant_id = harness.sandbox.control.create_tenant("UK", "Harbour Electric Ltd")
        _, self.key = apikeys.create_api_key(self.organisation, "journey")
        self.customer = services.create_customer(
            self.organisation, services.CustomerInput("Priya Shah", "priya@example.com")
        )
        for days, amount in enumerate(HISTORY, start=20):
            self._issue_earlier(amount, TODAY - dt.timedelta(days=days))
        self.calls = itertools.count(1)

    def _issue_earlier(self, amount: str, issued_on: dt.date) -> None:
        line = services.LineInput("system", "Solar array", Decimal(1), Decimal(amount), self.vat.pk)
        data = services.InvoiceInput(
            customer_id=self.customer.pk,
            kind="custom",
            due_date=issued_on + dt.timedelta(days=14),
            tax_inclusive=True,
            lines=(line,),
        )
        services.issue_invoice(services.create_invoice(self.organisation, data), issue_date=issued_on)

    def url(self, path: str = "") -> str:
        return f"{self.base}/orgs/{self.organisation.pk}/{path}"

    def _post(self, path: str, body: dict | None = None) -> dict:
        answer = requests.post(
            f"{self.base}/api/v1/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.key}", "Idempotency-Key": f"journey-{next(self.calls)}"},
            timeout=10,
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def issue_through_the_api(self, amount: str, tax_rate_id: object) -> None:
        line = {
            "line_type": "system",
            "description": "Solar array",
            "unit_amount": amount,
            "tax_rate_id": str(tax_rate_id),
        }
        invoice = self._post(
            "invoices",
            {
                "customer_id": str(self.customer.pk),
                "kind": "custom",
                "due_date": (TODAY + dt.timedelta(days=14)).isoformat(),
                "tax_inclusive": True,
                "lines": [line],
            },
        )
        self._post(f"invoices/{invoice['id']}/issue")

    def consent(self, journey: Journey, counted: bool = True) -> None:
        """Allow access on the sandbox's consent page (not ours: not audited). Organisations other tests
        made in this shared sandbox are not this user's: choosing theirs alone is not counted (a real
        bookkeeper sees only their own)."""
        page = journey.page
        page.wait_for_selector("text=Allow access")
        page.locator(f"input[name=tenant_id][value='{self.tenant_id}']").check()
        for box in page.locator("input[type=checkbox][name=tenant_id]").all():
            if box.get_attribute("value") != self.tenant_id:
                box.uncheck()
        if counted:
            journey.act("click", "text=Allow access")
        else:
            page.click("text=Allow access")


@pytest.fixture
def journey_day():
    """The journey's clock, from before the world is made (its invoices are dated and their events timed
    on it: an event after the connection's time would be planned as a missed live one)."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(params=["xero", "quickbooks"])
def world(request, settings, live_server, journey_day):
    settings.PUBLIC_URL = live_server.url  # the OAuth callback the sandbox's app registers
    harness = HARNESSES[request.param](request)
    harness.configure(settings)
    return World(harness, live_server)


def test_first_synced_invoice_in_at_most_15_actions_then_fix_history_reconnect_and_cancel(world, tab, worker):
    journey = Journey(tab, world.base, world.provider)
    actions = _to_the_first_synced_invoice(world, journey)
    _fix_a_failure(world, journey)
    _push_history(world, journey)
    _reconnect_after_a_revoked_grant(world, journey)
    _cancel_billing(world, journey)
    print(f"{world.provider}: {actions} actions from sign-in to the first synced invoice")
    assert journey.audited >= 25  # every page of ours on the way was checked
    assert journey.problems == [], "\n".join(journey.problems)
    assert actions <= MAX_ACTIONS, f"{actions} actions from sign-in to the first synced invoice"


def _to_the_first_synced_invoice(world: World, journey: Journey) -> int:
    from playwright.sync_api import expect

    page = journey.page
    page.goto(f"{world.base}/login/")
    journey.audit("01-sign-in")
    journey.act("fill", "#id_username", "alex")
    journey.act("fill", "#id_password", PASSWORD)
    journey.act("click", "main button:has-text('Sign in')")
    journey.audit("02-organisations")
    journey.act("click", "text=Harbour Electric")
    journey.audit("03-setup")
    assert page.locator("text=£49.00 per month").count() == 1  # the price in the organisation's currency
    assert page.get_by_role("button", name=world.connect_label).count() == 0  # not before enabling
    journey.act("check", "input[name=agree]")
    journey.act("click", "button:has-text('Enable the connector')")
    journey.audit("04-enabled")
    journey.act("click", f"button:has-text('{world.connect_label}')")
    world.consent(journey)
    journey.audit("05-connected")
    journey.act("click", "text=Review the proposed mapping")
    journey.audit("06-mapping")
    assert page.locator(".proposed").count() >= 3  # proposals marked as such, with their reason
    # Zero-rated sales to the ledger's zero rate (Xero's "Zero Rated Income" also by name; QuickBooks'
    # "0.0% Z" by rate alone), never to an exempt or EC rate of the same 0%.
    assert page.locator(".proposed", has_text="matched by rate 0%").count() == 1
    assert page.locator(".problem").count() == 0  # no errors about unsaved values beside the proposal
    journey.act("click", "button:has-text('Save mapping')")
    journey.audit("07-mapping-saved")
    journey.act("click", "nav >> text=Invoices")
    journey.audit("08-invoices")
    page.evaluate("window.__notReloaded = true")

    world.issue_through_the_api("12500.00", world.vat.pk)  # the worker thread sends what it queued
    expect(page.locator(SYNCED)).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("window.__notReloaded === true")  # it turned synced without a reload
    assert page.locator("td.amount", has_text="£12,500.00").count() == 1
    journey.audit("09-first-synced")
    actions = journey.actions
    _open_in_the_ledger(world, journey)
    return actions


def _open_in_the_ledger(world: World, journey: Journey) -> None:
    """The invoice's page links into the ledger's own app (the sandbox's ledger page stands in for it),
    at the invoice's row."""
    from playwright.sync_api import expect

    page = journey.page
    page.locator(SYNCED).locator("xpath=ancestor::tr").locator("td a").first.click()
    journey.audit("09b-invoice")
    with page.expect_popup() as opened:
        page.click(f"text=Open in {world.name}")
    ledger = opened.value
    ledger.wait_for_load_state()
    assert ledger.url.startswith(world.harness.sandbox.base_url), ledger.url
    fragment = ledger.url.split("#", 1)[1]
    expect(ledger.locator(f"tr[id='{fragment}']")).to_contain_text("12500.00")
    ledger.close()
    page.go_back()  # to the invoices: the page itself, not the rows its poll fetched from the same address
    expect(page.locator("h1")).to_have_text("Invoices of Harbour Electric")


def _fix_a_failure(world: World, journey: Journey) -> None:
    """A rate added in CashFlow after the mapping was saved: the invoice waits for it, its row says why
    and links to the mapping, where the rate is proposed; saving sends the invoice."""
    from playwright.sync_api import expect

    page = journey.page
    reduced = off_loop(services.create_tax_rate, world.organisation, "Reduced 5%", Decimal("5"))
    world.issue_through_the_api("630.00", reduced.pk)
    failed = page.locator("tr", has=page.locator('[data-status="error"]'))
    expect(failed).to_have_count(1, timeout=WAIT_MS)
    expect(failed).to_contain_text("Reduced 5%")
    journey.audit("10-failed")
    # Every page's banner says something waits, and leads to just those invoices.
    page.click("nav >> text=Setup")
    page.click("text=See what needs fixing")
    expect(page.locator("#invoice-rows tr")).to_have_count(1)
    failed.get_by_role("link", name="Fix the mapping").click()
    journey.audit("11-fix")
    # The new rate's fields (its ledger rate and account) are proposed; the saved ones are not.
    expect(page.locator(".field", has=page.get_by_label("Reduced 5%")).locator(".proposed")).to_have_count(2)
    assert page.locator(".proposed").count() == 2
    page.click("button:has-text('Save mapping')")
    page.click("nav >> text=Invoices")
    expect(page.locator(SYNCED)).to_have_count(2, timeout=WAIT_MS)
    journey.audit("12-fixed")


def _push_history(world: World, journey: Journey) -> None:
    """The three invoices issued before connecting, pushed from the setup page; the bar polls itself."""
    from playwright.sync_api import expect

    page = journey.page
    page.click("nav >> text=Setup")
    page.click("button:has-text('Push history')")
    progress = page.locator("#history-progress")
    expect(progress).to_contain_text(f"{len(HISTORY)} of {len(HISTORY)} synced", timeout=WAIT_MS)
    expect(progress.locator("progress")).to_have_attribute("value", str(len(HISTORY)))
    journey.audit("13-history-done")
    push = off_loop(lambda: HistoricalPush.objects.get(organisation=world.organisation))
    assert (push.state, push.done, push.failed) == (HistoricalPush.State.DONE, len(HISTORY), 0)
    page.click("nav >> text=Invoices")
    expect(page.locator(SYNCED)).to_have_count(2 + len(HISTORY), timeout=WAIT_MS)


def _reconnect_after_a_revoked_grant(world: World, journey: Journey) -> None:
    """The ledger ends LedgerLink's grant (as a user removing the app there would): the next invoice waits,
    its row links to Reconnect, and reconnecting sends it."""
    from playwright.sync_api import expect

    page = journey.page
    world.harness.revoke_grants()
    world.issue_through_the_api("410.00", world.vat.pk)
    waiting = page.locator("tr", has=page.locator('[data-status="disconnected"]'))
    expect(waiting).to_have_count(1, timeout=WAIT_MS)
    journey.audit("14-revoked")
    waiting.get_by_role("link", name="Reconnect the ledger").click()
    journey.audit("15-reconnect")
    page.click(f"button:has-text('Reconnect {world.name}')")
    world.consent(journey, counted=False)
    journey.audit("16-reconnected")
    connection = off_loop(lambda: Connection.objects.get(organisation=world.organisation))
    assert connection.status == ConnectionStatus.ACTIVE
    page.click("text=See the invoices")
    expect(page.locator(SYNCED)).to_have_count(3 + len(HISTORY), timeout=WAIT_MS)
    journey.audit("17-all-synced")


def _cancel_billing(world: World, journey: Journey) -> None:
    """Billing shows the trial and the price; cancelling asks first and says what stops."""
    from playwright.sync_api import expect

    page = journey.page
    page.click("nav >> text=Billing")
    journey.audit("18-billing")
    expect(page.locator("#state")).to_have_text("Free trial")
    page.click("text=Cancel the subscription…")
    journey.audit("19-cancel")
    expect(page.locator("main li", has_text=re.compile("stop syncing"))).to_have_count(1)
    page.click("button:has-text('Yes, cancel the subscription')")
    journey.audit("20-cancelled")
    subscription = off_loop(lambda: Subscription.objects.get(organisation=world.organisation))
    assert subscription.cancelled_on is not None
    expect(page.locator("#state")).to_have_text("Cancelled")
    for name, path in [
        ("health", "health/"),
        ("api-keys", "api-keys/"),
        ("members", "members/"),
        ("notices", "notices/"),
        ("disconnect", "disconnect/"),
    ]:
        page.goto(world.url(path))
        journey.audit(f"21-{name}")
        if name == "health":  # the workers' shared budget, against this ledger's own limits
            limits = LEDGERS[world.provider].limits
            headroom = page.locator("#headroom")
            expect(headroom).to_contain_text(f"of {limits.per_minute:,} calls this minute")
            expect(headroom).to_contain_text(re.compile(rf"[1-9][\d,]* of {limits.per_day:,} today"))
