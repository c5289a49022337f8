"""Usage metering through the real API with real keys, and the connector's own traffic (the real Xero
connector talking to the Xero sandbox over loopback, the OAuth callback it receives) recorded as exempt."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledgerlink.billing import usage
from ledgerlink.billing.models import ApiUsage, UsageKind
from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.ledgers.oauth import redirect_uri
from ledgerlink.ledgers.signals import ledger_call_made

from .helpers import make_organisation, make_user

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def this_month(organisation) -> str:
    return f"{usage.local_month(organisation.time_zone):%Y-%m}"


@pytest.fixture
def xero(xero_sandbox, settings):
    """LedgerLink pointed at the Xero sandbox, with a registered app and one AU tenant."""
    base = xero_sandbox.base_url
    settings.XERO_AUTHORIZE_URL = f"{base}/identity/connect/authorize"
    settings.XERO_IDENTITY_URL = settings.XERO_API_URL = base
    app = xero_sandbox.control.create_app([redirect_uri("xero")])
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    return xero_sandbox.control, xero_sandbox.control.create_tenant("AU", "Sunny Installs")


@pytest.fixture
def ledger_calls():
    """Every `ledger_call_made` signal sent during the test."""
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    ledger_call_made.connect(receiver)
    yield seen
    ledger_call_made.disconnect(receiver)


def connect_xero(client, organisation, control, tenant_id):
    """The browser flow: connect (the billing gate answers first), consent at the ledger, callback."""
    started = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    if started.status_code != 302:
        return started
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["Location"]).query).items()}
    code = control.consent(
        query["client_id"],
        [tenant_id],
        query["scope"],
        query["redirect_uri"],
        query["state"],
        query["code_challenge"],
    )
    return client.get("/connections/xero/callback/", {"code": code, "state": query["state"]})


def test_connector_traffic_is_exempt_and_api_calls_count_by_key(client, xero, ledger_calls):
    control, tenant_id = xero
    organisation = make_organisation("Australia/Sydney", "AUD", "AU")
    admin = make_user(organisation, Role.ADMIN)
    integration, integration_key = apikeys.create_api_key(organisation, "crm-integration")
    script, script_key = apikeys.create_api_key(organisation, "nightly-script")

    for _ in range(3):
        assert client.get("/api/v1/tax-rates", headers=bearer(integration_key)).status_code == 200
    assert client.get("/api/v1/invoices", headers=bearer(script_key)).status_code == 200
    # A refused call with a valid key still reached the API: it counts (the caller asked for nothing).
    assert client.get("/api/v1/customers/nope", headers=bearer(script_key)).status_code in (404, 422)
    # Unauthenticated calls name no organisation: nobody is charged for them.
    assert client.get("/api/v1/tax-rates").status_code == 401
    assert client.get("/api/v1/tax-rates", headers=bearer("llk_bad_key")).status_code == 401

    # Nothing connects before an administrator accepts the terms...
    client.force_login(admin)
    refused = connect_xero(client, organisation, control, tenant_id)
    assert refused.status_code == 409 and "agree to the pricing terms" in refused.content.decode()
    assert ledger_calls == []
    # ... then the real connector talks to the (sandbox) ledger: token exchange, tenants, the chart.
    assert client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"}).status_code == 302
    connected = connect_xero(client, organisation, control, tenant_id)
    assert connected.status_code == 200, connected.content.decode()
    client.logout()
    assert len(ledger_calls) >= 3
    assert {(call["organisation_id"], call["provider"]) for call in ledger_calls} == {
        (str(organisation.pk), "xero")
    }

    response = client.get(
        "/api/v1/usage", {"month": this_month(organisation)}, headers=bearer(integration_key)
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["month"] == this_month(organisation)
    assert report["time_zone"] == "Australia/Sydney"
    assert report["standard"] == {
        "total": 5,
        "by_key": [
            {
                "api_key_id": integration.pk,
                "name": "crm-integration",
                "prefix": integration.prefix,
                "calls": 3,
            },
            {"api_key_id": script.pk, "name": "nightly-script", "prefix": script.prefix, "calls": 2},
        ],
    }
    assert report["exempt"] == {
        "total": len(ledger_calls) + 1,
        "by_kind": [
            {"kind": "ledger_call", "provider": "xero", "calls": len(ledger_calls)},
            {"kind": "oauth_callback", "provider": "xero", "calls": 1},
        ],
    }
    # The report call itself was counted after it answered: the next report shows it.
    again = client.get("/api/v1/usage", headers=bearer(integration_key)).json()
    assert again["standard"]["by_key"][0]["calls"] == 4
    assert again["exempt"]["total"] == len(ledger_calls) + 1


def test_usage_report_is_scoped_to_the_keys_organisation(client):
    ours = make_organisation()
    theirs = make_organisation()
    _, our_key = apikeys.create_api_key(ours)
    _, their_key = apikeys.create_api_key(theirs)
    for _ in range(3):
        client.get("/api/v1/tax-rates", headers=bearer(their_key))
    usage.record_exempt(theirs.pk, UsageKind.LEDGER_CALL, provider="xero", calls=7)
    report = client.get("/api/v1/usage", headers=bearer(our_key)).json()
    assert report["standard"] == {"total": 0, "by_key": []}
    assert report["exempt"] == {"total": 0, "by_kind": []}


# The last three are Arabic-Indic, fullwidth and Devanagari digits: `\d` matches them, the schema does not.
BAD_MONTHS = ["2027-13", "2027-1", "27-01", "January", "2027-00", "2027-01-01", "0000-01", "", "2027-01\n"]
BAD_MONTHS += [
    "\u0662\u0660\u0662\u0667-\u0660\u0661",
    "\uff12\uff10\uff12\uff17-\uff10\uff11",
    "2027-\u0966\u0967",
]


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_a_bad_month_is_a_field_level_422(client, month):
    organisation = make_organisation()
    _, key = apikeys.create_api_key(organisation)
    response = client.get("/api/v1/usage", {"month": month}, headers=bearer(key))
    assert response.status_code == 422
    assert "month" in str(response.json()["detail"])


def test_usage_report_needs_a_key(client, db):
    assert client.get("/api/v1/usage").status_code == 401


def test_a_past_month_reports_what_was_counted_then(client):
    organisation = make_organisation("UTC", "GBP", "GB")
    key_row, key = apikeys.create_api_key(organisation)
    usage.record_api_call(organisation, key_row.pk, now=datetime(2027, 1, 31, 23, 59, tzinfo=UTC))
    usage.record_api_call(organisation, key_row.pk, now=datetime(2027, 2, 1, 0, 0, tzinfo=UTC))
    # The reads below are API calls too, counted in today's month: today is fixed, so that month is known.
    with time_machine.travel(datetime(2027, 3, 10, 12, 0, tzinfo=UTC), tick=False):

        def total(month: str) -> int:
            answer = client.get("/api/v1/usage", {"month": month}, headers=bearer(key)).json()
            return answer["standard"]["total"]

        assert [total("2026-12"), total("2027-01"), total("2027-02")] == [0, 1, 1]
        assert total("2027-03") == 3  # the reads above: a call is counted once it has been answered


def test_the_month_is_the_organisations_local_month(db):
    auckland = make_organisation("Pacific/Auckland", "NZD", "NZ")
    # 31 January 11:30 UTC is already 1 February in Auckland.
    usage.record_api_call(auckland, None, now=datetime(2027, 1, 31, 11, 30, tzinfo=UTC))
    assert ApiUsage.objects.get().month == date(2027, 2, 1)


def test_counting_is_one_row_per_month_and_key_updated_in_place(client):
    organisation = make_organisation()
    _, key = apikeys.create_api_key(organisation)
    for _ in range(20):
        client.get("/api/v1/tax-rates", headers=bearer(key))
    assert ApiUsage.objects.filter(organisation=organisation).count() == 1
    assert ApiUsage.objects.get(organisation=organisation).calls == 20
    # A steady-state count is a single UPDATE, not a read-modify-write.
    usage.record_api_call(organisation, None)  # the month's first unkeyed call inserts its row
    with CaptureQueriesContext(connection) as queries:
        usage.record_api_call(organisation, None)
    assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
    assert ApiUsage.objects.get(organisation=organisation, api_key=None).calls == 2


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/connections/xero/callback/", (UsageKind.OAUTH_CALLBACK, "xero")),
        ("/connections/quickbooks/callback/", (UsageKind.OAUTH_CALLBACK, "quickbooks")),
        ("/connections/xero/connect/", None),
        ("/connections/xero/preview/abc", None),
        ("/webhooks/xero", None),  # no webhooks are received yet: nothing there is exempt
        ("/api/v1/invoices", None),
        ("/billing/", None),
    ],
)
def test_which_paths_are_the_connectors_callbacks(path, expected):
    from ledgerlink.billing.middleware import exempt_callback

    assert exempt_callback(path) == expected


def test_ledger_calls_for_no_organisation_are_not_attributed_to_anyone(organisation):
    results = ledger_call_made.send_robust(
        sender=None, organisation_id="", provider="xero", method="POST", path="/connect/token", status=200
    )
    assert [result for _, result in results if isinstance(result, Exception)] == []
    ledger_call_made.send_robust(
        sender=None,
        organisation_id=str(organisation.pk),
        provider="xero",
        method="GET",
        path="/x",
        status=200,
        calls=3,
    )
    assert list(ApiUsage.objects.values_list("organisation_id", "kind", "calls")) == [
        (organisation.pk, "ledger_call", 3)
    ]


def test_a_callback_is_counted_for_the_organisation_the_user_works_in(client):
    first, second = make_organisation(), make_organisation()
    user = make_user(first, Role.ADMIN)
    client.force_login(user)
    client.get("/connections/xero/callback/", {"state": "unknown"})
    Membership.objects.create(user=user, organisation=second, role=Role.ADMIN)
    client.get("/connections/xero/callback/", {"state": "unknown"})  # two organisations, none chosen
    session = client.session
    session["organisation_id"] = str(second.pk)
    session.save()
    client.get("/connections/xero/callback/", {"state": "unknown"})
    client.get("/connections/xero/connect/")  # the web UI under /connections/ is not API traffic
    counted = ApiUsage.objects.values_list("organisation_id", "kind", "provider", "calls")
    assert sorted(counted, key=lambda row: row[0] == second.pk) == [
        (first.pk, "oauth_callback", "xero", 1),
        (second.pk, "oauth_callback", "xero", 1),
    ]
