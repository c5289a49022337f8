"""Who may do what, proved over every URL the site routes rather than a list of the ones we remember:

- a member (not an administrator) who POSTs to any URL, with the ids of their own organisation, is refused
  (403, or 405 where the URL takes no POST) and nothing in the database changes, while an administrator
  sending the same POST is let through (so the refusal is the role's, not a broken URL);
- a signed-in user who puts another organisation's ids into any organisation-scoped URL, either that
  organisation's id or its invoice, key, push or bill under their own organisation, gets 404, on GET and on
  POST, and nothing changes.

A URL the tables below do not classify fails the first test: a new page must say what it is."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from ledgerlink.billing.models import BillingInvoice
from ledgerlink.billing.scheduler import run_billing
from ledgerlink.billing.services import enable_connector
from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.registry import OAUTH_PROVIDERS
from ledgerlink.sync import doorbell
from ledgerlink.sync.models import HistoricalPush

from .world import PASSWORD, connect

pytestmark = pytest.mark.django_db

# Routes outside membership checks, and why.
NOT_MEMBERSHIP_ROUTES = {
    "admin/": "Django's admin: staff accounts only",
    "api/v1/": "the API authenticates API keys, not members (tests/cashflow)",
    "billing/": "organisation-less legacy addresses that only redirect to the organisation's own",
    "^billing/": "the same, for any other old billing address",
    "login/": "signing in",
    "logout/": "signing out",
    "notices/unsubscribe/": "a signed one-click link from an email, no session",
    "_demo/mail/": "the demo's mailbox, absent in production",
    "connections/<str:provider>/callback/": "bound to the OAuth state its admin started in their session",
    "connections/<str:provider>/disconnected/": "the landing page after a disconnect at the ledger (GET)",
}
# Pages that only show: their views refuse a POST (405) or answer it as a GET.
READ_ONLY = {
    "",
    "orgs/<uuid:organisation_id>/",
    "orgs/<uuid:organisation_id>/billing/",
    "orgs/<uuid:organisation_id>/billing/invoices/<int:invoice_id>",
    "orgs/<uuid:organisation_id>/billing/invoices/<int:invoice_id>.txt",
    "orgs/<uuid:organisation_id>/disconnect/",  # the confirmation; the ledger screen's POST disconnects
    "orgs/<uuid:organisation_id>/health/",
    "orgs/<uuid:organisation_id>/members/",
    "orgs/<uuid:organisation_id>/invoices/",
    "orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/",
    "orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/preview/",
    "orgs/<uuid:organisation_id>/history/<int:push_id>/",
}
# What an administrator sends to each route that changes something.
ADMIN_POSTS = {
    "orgs/<uuid:organisation_id>/billing/enable": {"agree": "on"},
    "orgs/<uuid:organisation_id>/billing/cancel": {},
    "orgs/<uuid:organisation_id>/mapping/": {},
    "orgs/<uuid:organisation_id>/api-keys/": {"name": "Checkout"},
    "orgs/<uuid:organisation_id>/api-keys/<int:key_id>/revoke/": {},
    "orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/retry/": {},
    "orgs/<uuid:organisation_id>/retry/": {},
    "orgs/<uuid:organisation_id>/history/": {},
    "orgs/<uuid:organisation_id>/notices/": {"accounting_email": "x@example.com"},
    "orgs/<uuid:organisation_id>/notices/retry/": {},
    "connections/<str:provider>/connect/": {"organisation": "{organisation_id}"},
    "connections/<str:provider>/disconnect/": {"organisation": "{organisation_id}"},
    "connections/<str:provider>/chart/": {"organisation": "{organisation_id}"},
    "connections/<str:provider>/tenants/<str:state_value>/": {"tenant": "x"},
}
ACTS_FOR_AN_ADMIN = {
    "orgs/<uuid:organisation_id>/billing/cancel",
    "orgs/<uuid:organisation_id>/api-keys/",
    "orgs/<uuid:organisation_id>/api-keys/<int:key_id>/revoke/",
    "orgs/<uuid:organisation_id>/history/",
    "orgs/<uuid:organisation_id>/notices/",
    "connections/<str:provider>/disconnect/",
}
# Refused with 400 to anyone but the browser session that started the sign-in, whatever their role.
SESSION_BOUND = {"connections/<str:provider>/tenants/<str:state_value>/"}
# Rows that change on any request (a session, the sign-in throttle), not by what a page does.
VOLATILE_MODELS = {"sessions.session", "cashflow.signinthrottle", "cashflow.signinfailure"}
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def routes() -> list[str]:
    """Every route the site serves, as Django writes it (prefixes of included apps joined)."""

    def walk(patterns: list, prefix: str) -> list[str]:
        found = []
        for entry in patterns:
            if isinstance(entry, URLResolver):
                found += walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))
        return found

    return walk(get_resolver().url_patterns, "")


def outside_membership(route: str) -> bool:
    return any(route.startswith(prefix) for prefix in NOT_MEMBERSHIP_ROUTES)


def fill(route: str, ids: dict[str, object]) -> str:
    """The route with its parameters filled from `ids` (an int `invoice_id` is a bill, a uuid one ours)."""

    def value(match: re.Match) -> str:
        name, converter = match["name"], match["converter"]
        if name == "invoice_id" and converter == "int":
            name = "bill_id"
        return str(ids[name])

    return "/" + PARAMETER.sub(value, route)


def body(route: str, ids: dict[str, object]) -> dict[str, str]:
    return {k: v.format(**ids) for k, v in ADMIN_POSTS.get(route, {}).items()}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every model but the volatile ones, to compare before and after a request."""
    return {
        model._meta.label_lower: sorted(map(repr, model.objects.values_list()))
        for model in apps.get_models()
        if model._meta.label_lower not in VOLATILE_MODELS
    }


def changed(before: dict[str, list[tuple]]) -> list[str]:
    after = snapshot()
    return [label for label in after if after[label] != before.get(label)]


def _organisation(name: str, admin, member=None) -> dict[str, object]:
    """An organisation with something behind every kind of id a URL takes: an issued invoice, an API key,
    a history push, a bill for its first month."""
    organisation = services.create_organisation(name, "AU", accounting_email=f"books@{name[:4]}.example")
    Membership.objects.create(user=admin, organisation=organisation, role=Role.ADMIN)
    if member is not None:
        Membership.objects.create(user=member, organisation=organisation, role=Role.MEMBER)
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    customer = services.create_customer(organisation, services.CustomerInput("Jo Citizen", "jo@example.com"))
    line = services.LineInput("system", "Solar work", Decimal(1), Decimal("1100.00"), gst.pk)
    invoice = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer.pk, "custom", services.organisation_today(organisation), True, (line,)
        ),
    )
    services.issue_invoice(invoice)
    key, _ = apikeys.create_api_key(organisation, "Website")
    enable_connector(organisation, admin, "127.0.0.1", "pytest")
    return {
        "organisation_id": organisation.pk,
        "invoice_id": invoice.pk,
        "key_id": key.pk,
        "organisation": organisation,
    }


@pytest.fixture
def two_organisations(client, xero_sandbox, xero_app, monkeypatch):
    """Ours (alex administers it, sam is a member; connected to the Xero sandbox) and theirs (bob's), each
    billed for a month. The worker is not run: a retry only queues."""
    monkeypatch.setattr(doorbell, "ring", lambda connection_id, delay_s=None: None)
    users = get_user_model()
    alex, sam, bob = (users.objects.create_user(n, password=PASSWORD) for n in ("alex", "sam", "bob"))
    ours, theirs = _organisation("Bright Roofs", alex, sam), _organisation("Other Solar", bob)
    client.force_login(alex)
    tenant_id = xero_sandbox.control.create_tenant("AU", "Bright Roofs Pty Ltd")
    assert connect(client, xero_sandbox, ours["organisation"], tenant_id).status_code == 200
    Connection.objects.create(organisation=theirs["organisation"], provider="xero", tenant_id="theirs")
    run_billing(timezone.now(), as_of=dt.date.today() + dt.timedelta(days=70))
    for world in (ours, theirs):
        organisation = world["organisation"]
        world["bill_id"] = BillingInvoice.objects.filter(organisation=organisation).first().pk
        world["push_id"] = HistoricalPush.objects.create(
            organisation=organisation,
            connection=Connection.objects.get(organisation=organisation),
            total=0,
            state=HistoricalPush.State.DONE,  # settled: pages that show a push have nothing to update
            started_at=timezone.now(),
            finished_at=timezone.now(),
        ).pk
        world["state_value"] = "not-a-state"
    client.logout()
    return ours, theirs, alex, sam


def test_every_route_is_classified():
    unclassified = [
        r for r in routes() if not outside_membership(r) and r not in ADMIN_POSTS.keys() | READ_ONLY
    ]
    assert unclassified == [], "classify these routes in test_authorisation.py"
    gone = (set(ADMIN_POSTS) | READ_ONLY) - set(routes())
    assert gone == set(), "classified routes that no longer exist"


def test_a_member_can_reach_no_admin_action_by_url(client, two_organisations):
    ours, _theirs, alex, sam = two_organisations
    candidates = [r for r in routes() if not outside_membership(r)]
    assert len(candidates) >= 25 and set(ADMIN_POSTS) <= set(candidates)  # the walk found the site
    for provider in OAUTH_PROVIDERS:
        ours["provider"] = provider
        client.force_login(sam)
        for route in candidates:
            url, data = fill(route, ours), body(route, ours)
            before = snapshot()
            answer = client.post(url, data)
            refused = answer.status_code in (403, 405) or (
                route in SESSION_BOUND and answer.status_code == 400
            )
            assert refused or route in READ_ONLY, f"a member's POST to {url}: {answer.status_code}"
            assert changed(before) == [], f"a member's POST to {url} changed {changed(before)}"
    # The same POSTs from the administrator pass the role check: the member's 403 was the role's.
    client.force_login(alex)
    ours["provider"] = "xero"
    acted = set()
    for route in ADMIN_POSTS:
        url, before = fill(route, ours), snapshot()
        answer = client.post(url, body(route, ours))
        assert answer.status_code != 403, f"the administrator was refused {url}"
        acted |= {route} if changed(before) else set()
    # Some have nothing to do here (enabled already, nothing failed); these must have done something.
    assert acted >= ACTS_FOR_AN_ADMIN, sorted(ACTS_FOR_AN_ADMIN - acted)


def test_no_page_shows_another_organisations_data(client, two_organisations):
    ours, theirs, alex, _sam = two_organisations
    client.force_login(alex)
    scoped = [r for r in routes() if "<uuid:organisation_id>" in r and not outside_membership(r)]
    assert len(scoped) >= 20
    probes = 0
    # Their organisation outright, then their objects under ours.
    mixed = {**ours, **{k: v for k, v in theirs.items() if k != "organisation_id"}}
    for route in scoped:
        for ids in (theirs, mixed):
            url = fill(route, ids)
            if ids is mixed and url == fill(route, ours):
                continue  # the route takes no id but the organisation's
            for method in (client.get, client.post):
                before = snapshot()
                answer = method(url, body(route, ids))
                # A page that takes no POST refuses it (405) before it looks anything up.
                expected = (404,) if method is client.get else (404, 405)
                assert answer.status_code in expected, (
                    f"{method.__name__.upper()} {url}: {answer.status_code}"
                )
                assert changed(before) == []
                probes += 1
    # The ledger screens name the organisation in the form: theirs is refused the same way.
    for route in ("connections/<str:provider>/connect/", "connections/<str:provider>/disconnect/"):
        url = fill(route, {"provider": "xero"})
        before = snapshot()
        answer = client.post(url, {"organisation": str(theirs["organisation_id"])})
        assert answer.status_code in (403, 404) and changed(before) == []
        probes += 1
    assert probes >= 40
