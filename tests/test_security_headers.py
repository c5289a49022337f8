"""The Content-Security-Policy and the other standard headers on every page, and the pages still working
under the policy in a real browser (Debian's Chromium, driven by Playwright, as the notices tests do)."""

from __future__ import annotations

import re
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from ledgerlink.billing import services as billing
from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.headers import PERMISSIONS_POLICY

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
# Markup the policy would refuse: inline handlers, style attributes, inline <script>/<style> without a nonce.
REFUSED = [
    re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    re.compile(r"<[^>]*\sstyle\s*=", re.I),
    re.compile(r"<script(?![^>]*\b(src|nonce)=)(?![^>]*application/json)[^>]*>", re.I),
    re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I),
]


@pytest.fixture
def member(db):  # type: ignore[no-untyped-def]
    organisation = services.create_organisation("Sunny Roofs Pty Ltd", "AU")
    user = get_user_model().objects.create_user("alex", "alex@sunny.example", PASSWORD)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    billing.enable_connector(organisation, user, "203.0.113.9", "test")
    return organisation, user


def pages(organisation) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        reverse("web:home"),
        reverse("web:organisation", args=[organisation.pk]),
        reverse("web:invoices", args=[organisation.pk]),
        reverse("billing:status", args=[organisation.pk]),
        "/api/v1/docs",
    ]


def test_every_page_sends_the_policy_with_a_fresh_nonce(client, member):
    organisation, user = member
    nonces = set()
    for path in ["/login/", "/admin/login/", "/api/v1/health", "/no-such-page/"]:
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        nonces.add(re.search(r"'nonce-([^']+)'", csp).group(1))
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
    assert len(nonces) == 4
    client.force_login(user)
    for path in pages(organisation):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert [p.pattern for p in REFUSED if p.search(html)] == [], path
        assert all(found == nonce for found in re.findall(r'nonce="([^"]*)"', html)), path


def test_connecting_may_post_to_the_ledgers_sign_in_pages(client, settings, db):
    settings.XERO_AUTHORIZE_URL = "https://login.xero.example/identity/connect/authorize"
    csp = client.get("/login/")["Content-Security-Policy"]
    form_action = re.search(r"form-action ([^;]+)", csp).group(1).split()
    assert form_action[0] == "'self'" and "https://login.xero.example" in form_action


@pytest.mark.django_db(transaction=True)
def test_the_pages_work_under_the_policy_in_a_browser(live_server, member):
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    organisation, _ = member
    paths = pages(organisation)
    invoices = reverse("web:invoices", args=[organisation.pk])
    # Playwright's sync API runs an event loop in this thread: the database work is all done above.
    from playwright.sync_api import sync_playwright

    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.goto(live_server.url + "/login/")
            page.fill("#id_username", "alex")
            page.fill("#id_password", PASSWORD)
            page.click("button.primary")
            page.wait_for_load_state("load")
            assert "/login/" not in page.url  # the sign-in form posted and redirected under form-action
            for path in paths:
                page.goto(live_server.url + path)
                page.wait_for_load_state("load")
            page.wait_for_selector("#swagger-ui .info")  # the API docs' scripts ran
            page.goto(live_server.url + invoices)
            with page.expect_navigation():
                page.select_option("#sync", index=1)  # the static script submits the filter
            assert "sync=" in page.url
        finally:
            browser.close()
    assert violations == []
