"""The web tests' world: an installer organisation with an admin and a member, and the Xero sandbox set
up as its ledger (a fresh OAuth app per test)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role

from .world import PASSWORD


@pytest.fixture
def xero_app(settings, xero_sandbox):
    app = xero_sandbox.control.create_app([f"{settings.PUBLIC_URL}/connections/xero/callback/"])
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = xero_sandbox.base_url
    settings.XERO_AUTHORIZE_URL = f"{xero_sandbox.base_url}/identity/connect/authorize"
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    return app


@pytest.fixture
def installer():
    organisation = services.create_organisation(
        "Bright Roofs Solar", "AU", accounting_email="books@bright.example"
    )
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    free = services.create_tax_rate(organisation, "GST free", Decimal("0"))
    users = get_user_model()
    admin = users.objects.create_user("alex", password=PASSWORD)
    member = users.objects.create_user("sam", password=PASSWORD)
    Membership.objects.create(user=admin, organisation=organisation, role=Role.ADMIN)
    Membership.objects.create(user=member, organisation=organisation, role=Role.MEMBER)
    return organisation, gst, free, admin, member


class PlaywrightThread:
    """Playwright's sync API marks its event loop as running on this thread after every call, although
    nothing runs on it between calls; left marked, Django refuses the ORM in whatever this worker runs
    next (the database setup, other tests). The mark is lent back to Playwright for the tests that use the
    browser and taken away between them (Playwright's dispatcher needs it to resume its loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    def lend(self) -> None:
        asyncio._set_running_loop(self.loop)

    def take_back(self) -> None:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the whole session; each test opens its own tab (`tab`)."""
    from playwright.sync_api import sync_playwright

    from .browser import CHROMIUM

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        thread = PlaywrightThread()
        thread.take_back()
        yield chromium, thread
        thread.lend()
        chromium.close()


@pytest.fixture
def tab(browser):
    """A fresh context (no cookies) and page at phone width in the session's browser. While the test runs,
    the ORM is for other threads (`browser.off_loop`)."""
    from .browser import PHONE

    chromium, thread = browser
    thread.lend()
    context = chromium.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()
    thread.take_back()


@pytest.fixture
def worker(monkeypatch):
    """The sweeper and a consumer on a thread for the test, the doorbell pointed at it."""
    from ledgerlink.sync import doorbell

    from .browser import Worker, take_turns

    take_turns(monkeypatch)
    running = Worker()
    monkeypatch.setattr(doorbell, "_enqueue", running.ring)
    running.start()
    yield running
    running.stop()
