"""The contract, proved once for every provider against its sandbox over real HTTP (STYLE.md 6): connect,
chart, tokens, disconnect, push, partial batch, replay, each error kind."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.contract import ObjectKind, PaymentReversal, SyncItem
from ledgerlink.ledgers.errors import (
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
    UnknownOutcome,
)
from ledgerlink.ledgers.models import ChartSnapshot, Connection, ConnectionStatus, OAuthState
from ledgerlink.ledgers.registry import oauth_for
from ledgerlink.ledgers.signals import ConnectBlocked, connect_requested
from ledgerlink.ledgers.tokens import ensure_fresh_token

from . import documents as d
from .conftest import connect_through_views, enable_connector
from .harness import FAULTS
from .pushing import push

pytestmark = pytest.mark.django_db


# --- Connect --------------------------------------------------------------------------------------------


def test_connect_through_the_real_views_loads_the_chart_at_once(connected, harness):
    connection, tenant = connected
    assert (connection.status, connection.provider, connection.tenant_name) == (
        "active",
        harness.provider,
        "Sunny Installs",
    )
    assert connection.access_token and connection.refresh_token and connection.remote_connection_id
    assert connection.access_expires_at > timezone.now() and connection.refresh_token_issued_at
    snapshot = ChartSnapshot.objects.get(connection=connection)
    chart = chart_for(connection)
    assert harness.account(chart, harness.sales_code) and harness.account(chart, harness.bank_code)
    assert harness.tax_code in {t.code for t in chart.tax_rates}
    assert len(snapshot.accounts) == len(chart.accounts)
    # Instant setup is one call each for accounts, tax rates and tracking categories.
    assert harness.calls(tenant, method="GET") == harness.connect_reads
    assert not OAuthState.objects.exists()  # single use: gone once connected


def test_state_replay_foreign_session_and_forgery_are_refused(admin, client, harness):
    user, organisation = admin
    tenant = harness.new_tenant()
    started = client.post(
        reverse("ledgers:connect", args=[harness.provider]), {"organisation": organisation.pk}
    )
    answer = harness.consent(started["Location"], [tenant])
    callback = reverse("ledgers:callback", args=[harness.provider])

    forged = client.get(callback, {**answer, "state": "not-a-state"})
    other_browser = Client()
    other_browser.force_login(user)  # same user, another session: not the browser that started it
    foreign = other_browser.get(callback, answer)
    first = client.get(callback, answer)
    replay = client.get(callback, answer)

    assert (forged.status_code, foreign.status_code, first.status_code, replay.status_code) == (
        400,
        400,
        200,
        400,
    )
    assert Connection.objects.filter(organisation=organisation).count() == 1


def test_an_expired_state_is_refused(admin, client, harness):
    started = client.post(reverse("ledgers:connect", args=[harness.provider]), {"organisation": admin[1].pk})
    answer = harness.consent(started["Location"], [harness.new_tenant()])
    OAuthState.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    assert client.get(reverse("ledgers:callback", args=[harness.provider]), answer).status_code == 400
    assert not Connection.objects.exists()


def test_several_tenants_are_picked_with_a_csrf_protected_form(admin, harness):
    if harness.one_tenant_per_grant:
        pytest.skip(f"{harness.provider}'s consent picks one tenant; there is no picker")
    user, organisation = admin
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    first, second = harness.new_tenant("North Books"), harness.new_tenant("South Books")
    browser.get(reverse("ledgers:connect", args=[harness.provider]))  # the form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    started = browser.post(
        reverse("ledgers:connect", args=[harness.provider]),
        {"organisation": organisation.pk, "csrfmiddlewaretoken": token},
    )
    answer = harness.consent(started["Location"], [first, second])
    picker = browser.get(reverse("ledgers:callback", args=[harness.provider]), answer)
    assert picker.status_code == 302
    form = browser.get(picker["Location"])
    assert b"North Books" in form.content and b"South Books" in form.content
    assert browser.post(picker["Location"], {"tenant_id": second}).status_code == 403  # no CSRF token
    done = browser.post(picker["Location"], {"tenant_id": second, "csrfmiddlewaretoken": token})
    assert done.status_code == 200
    connection = Connection.objects.get(organisation=organisation)
    assert (connection.tenant_id, connection.tenant_name) == (second, "South Books")
    assert not OAuthState.objects.exists()
    # The unpicked tenant's connection is released: it would count against the app's connection limit.
    assert [t.id for t in oauth_for(harness.provider).tenants(connection.access_token)] == [second]


def test_only_admins_connect_and_a_blocking_receiver_refuses_with_its_message(admin, client, harness):
    user, organisation = admin
    user.memberships.update(role="member")
    refused = client.post(
        reverse("ledgers:connect", args=[harness.provider]), {"organisation": organisation.pk}
    )
    assert refused.status_code == 403
    user.memberships.update(role="admin")

    def block(sender, **kwargs):
        raise ConnectBlocked("Accept the connector's pricing first.")

    connect_requested.connect(block, weak=False)
    try:
        blocked = client.post(
            reverse("ledgers:connect", args=[harness.provider]), {"organisation": organisation.pk}
        )
    finally:
        connect_requested.disconnect(block)
    assert blocked.status_code == 409 and b"Accept the connector&#x27;s pricing first." in blocked.content
    assert not OAuthState.objects.exists()


def test_a_second_organisation_cannot_take_a_connected_tenant(connected, harness, django_user_model):
    from ledgerlink.cashflow.models import Membership, Organisation

    _, tenant = connected
    other = Organisation.objects.create(name="Other", country="AU", home_currency="AUD", time_zone="UTC")
    user = django_user_model.objects.create_user("other-admin", password="pw-123456")
    Membership.objects.create(user=user, organisation=other, role="admin")
    enable_connector(other, user)
    browser = Client()
    browser.force_login(user)
    response = connect_through_views(browser, harness, other, [tenant])
    assert response.status_code == 409
    assert not Connection.objects.filter(organisation=other).exists()


# --- Tokens ---------------------------------------------------------------------------------------------


def test_refresh_rotates_once_and_saves_the_new_refresh_token(connected, harness):
    connection, _ = connected
    Connection.objects.filter(pk=connection.pk).update(
        access_expires_at=timezone.now() + dt.timedelta(seconds=30)
    )
    refreshed = ensure_fresh_token(connection.pk)
    assert refreshed.access_token != connection.access_token
    # Rotated, or (a ledger that rotates at its own pace) the one it answered with is what is kept.
    assert (refreshed.refresh_token != connection.refresh_token) == harness.rotates_every_refresh
    assert refreshed.access_expires_at > timezone.now() + dt.timedelta(minutes=5)
    again = ensure_fresh_token(connection.pk)  # fresh now: no second refresh
    assert again.access_token == refreshed.access_token
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.refresh_token == refreshed.refresh_token


def test_the_refresh_margin_is_a_ledger_minute_at_the_sandbox_time_scale(connected, settings):
    """Against a sandbox at scale 100 a token lives 18 real seconds: the minute of margin is 0.6 s of it, not
    all of it (an unscaled minute refreshed before every call of a fast bench run)."""
    connection, _ = connected
    settings.LEDGERLINK_SYNC_TIME_SCALE = 100.0
    Connection.objects.filter(pk=connection.pk).update(
        access_expires_at=timezone.now() + dt.timedelta(seconds=10)
    )
    assert ensure_fresh_token(connection.pk).access_token == connection.access_token  # 10 s: still fresh
    Connection.objects.filter(pk=connection.pk).update(
        access_expires_at=timezone.now() + dt.timedelta(seconds=0.3)
    )
    assert ensure_fresh_token(connection.pk).access_token != connection.access_token  # inside 0.6 s


def test_a_rejected_token_is_refreshed_only_if_nobody_did_since(connected):
    connection, _ = connected
    first = ensure_fresh_token(connection.pk, rejected_access_token=connection.access_token)
    assert first.access_token != connection.access_token
    second = ensure_fresh_token(connection.pk, rejected_access_token=connection.access_token)  # a late worker
    assert second.access_token == first.access_token


def test_invalid_grant_marks_the_connection_needs_reconnect(connected, harness):
    connection, _ = connected
    harness.revoke_grants()
    with pytest.raises(Reconnect):
        ensure_fresh_token(connection.pk, force=True)
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.status == ConnectionStatus.NEEDS_RECONNECT and stored.last_error
    with pytest.raises(Reconnect):  # and no more calls are made for it
        ensure_fresh_token(connection.pk, force=True)


def test_reconnecting_repairs_the_same_connection(connected, client, harness):
    connection, tenant = connected
    Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    response = connect_through_views(client, harness, connection.organisation, [tenant])
    assert response.status_code == 200
    assert Connection.objects.get().pk == connection.pk
    assert Connection.objects.get().status == ConnectionStatus.ACTIVE


def test_disconnect_revokes_at_the_ledger_and_keeps_history_and_mappings(connected, client, harness):
    from ledgerlink.ledgers.models import PaymentAccountMapping

    connection, _ = connected
    PaymentAccountMapping.objects.create(
        organisation=connection.organisation,
        provider=harness.provider,
        account_id="acc",
        account_code="090",
        is_default=True,
    )
    old_refresh = connection.refresh_token
    response = client.post(
        reverse("ledgers:disconnect", args=[harness.provider]), {"organisation": connection.organisation.pk}
    )
    assert response.status_code == 200
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.status, stored.access_token, stored.refresh_token) == ("disconnected", "", "")
    assert stored.disconnected_at and not stored.last_error
    assert PaymentAccountMapping.objects.filter(organisation=connection.organisation).exists()
    with pytest.raises(Reconnect):  # the grant is revoked at the ledger
        oauth_for(harness.provider).refresh(old_refresh)


# --- Push -----------------------------------------------------------------------------------------------


def test_customers_are_matched_by_email_in_one_call_and_name_clashes_get_a_suffix(books, harness):
    same_email = SyncItem(
        "b", ObjectKind.CUSTOMER, d.customer(2, name="Robert", email="CUSTOMER1@example.com")
    )
    same_name = SyncItem("c", ObjectKind.CUSTOMER, d.customer(3, name="Customer 1"))
    before = harness.calls(books.tenant, method="GET")
    resolution = books.ledger.resolve_customers([same_email, same_name])
    assert harness.calls(books.tenant, method="GET") == before + harness.customer_match_reads
    assert [(o.record_id, o.remote.id) for o in resolution.matched] == [("b", books.contact_id)]
    (created,) = push(books.ledger, resolution.to_create, books.mapping)
    assert created.error is None
    numbers = harness.customer_numbers(books.tenant)
    assert sorted(numbers) == ["Customer 1", "Customer 1 (customer3@example.com)"]
    if harness.keeps_customer_ids:
        assert numbers == {"Customer 1": "cust-1", "Customer 1 (customer3@example.com)": "cust-3"}


def test_a_batch_with_one_bad_account_saves_the_rest_in_one_call(books, harness):
    mapping = dataclasses.replace(
        books.mapping,
        line_accounts={"fee": harness.account(chart_for(books.connection), harness.archived_code)},
    )
    items = [
        # 12.25 at 10% is 1.225 of tax: CashFlow's half-up 1.23 must survive the ledger's own rounding.
        books.invoice_item("INV-00001", lines=(d.line("12.25", "1.23"),)),
        books.invoice_item("INV-00002", lines=(d.line("50.00", "5.00", line_type="fee"),)),
        books.invoice_item(
            "INV-00003",
            lines=(d.line("1000.00", "100.00"), d.line("-100.00", "-10.00", line_type="discount")),
        ),
    ]
    items.append(books.invoice_item("INV-00004", lines=(d.line("1100.00", "100.00"),), inclusive=True))
    writes_before = harness.writes(books.tenant)
    ok, bad, ok_too, inclusive = push(books.ledger, items, mapping)
    assert harness.writes(books.tenant) == writes_before + 1
    assert (ok.remote.number, ok.remote.total) == ("INV-00001", Decimal("13.48"))
    assert (ok_too.remote.number, ok_too.remote.total) == ("INV-00003", Decimal("990.00"))
    assert isinstance(bad.error, NeedsAttention) and bad.error.configuration and bad.remote is None
    assert (inclusive.remote.total, inclusive.error) == (Decimal("1100.00"), None)
    assert sorted(harness.invoice_numbers(books.tenant)) == ["INV-00001", "INV-00003", "INV-00004"]
    assert harness.invoice(books.tenant, "INV-00001").total_tax == Decimal("1.23")


def test_a_replayed_key_creates_once_and_a_new_key_meets_a_conflict(books, harness):
    item = books.invoice_item("INV-00010")
    first = push(books.ledger, [item], books.mapping, key="replay-key-1")
    replay = push(books.ledger, [item], books.mapping, key="replay-key-1")
    assert first[0].remote == replay[0].remote
    assert harness.invoice_numbers(books.tenant) == ["INV-00010"]
    (conflict,) = push(books.ledger, [item], books.mapping, key="replay-key-2")
    assert isinstance(conflict.error, Conflict)
    assert books.ledger.find_by_number(ObjectKind.INVOICE, "INV-00010") == first[0].remote
    assert books.ledger.find_existing(item) == first[0].remote
    assert books.ledger.find_by_number(ObjectKind.INVOICE, "INV-99999") is None


def test_payment_partial_refund_and_both_kinds_of_cancellation(books, harness):
    (invoice,) = push(books.ledger, [books.invoice_item("INV-00020")], books.mapping)  # 1,100.00
    invoice_id = invoice.remote.id
    pay = d.payment("500.00", invoice_number="INV-00020")
    (paid,) = push(
        books.ledger, [SyncItem("pay", ObjectKind.PAYMENT, pay, {"invoice": invoice_id})], books.mapping
    )
    assert books.ledger.find_existing(SyncItem("pay", ObjectKind.PAYMENT, pay)) == paid.remote
    assert harness.invoice(books.tenant, "INV-00020").amount_due == Decimal("600.00")

    # A refund of 100.00 leaves 400.00 of the payment, in as many steps as the ledger needs.
    reversal = PaymentReversal("rev", pay, Decimal("100.00"), Decimal("400.00"), pay.date, "refund")
    ids = {"payment": paid.remote.id, "invoice": invoice_id}
    refunded, _ = push_through(books, SyncItem("rev", ObjectKind.PAYMENT_REVERSAL, reversal, ids))
    assert refunded.done and refunded.error is None
    assert harness.invoice(books.tenant, "INV-00020").amount_due == Decimal("700.00")

    # Cancelled after a payment: a credit for the 700.00 still due, which leaves nothing due.
    cancel = d.cancellation(d.invoice("INV-00020"), credit="700.00", paid="400.00")
    ids = {"invoice": invoice_id, "contact": books.contact_id}
    credited, totals = push_through(books, SyncItem("cn", ObjectKind.CANCELLATION, cancel, ids))
    # The credit's own total, read from the ledger's answer over real HTTP, for the engine's comparison.
    assert credited.error is None and totals[-1] == Decimal("700.00")
    assert credited.remote.number == "CN-00001"
    assert harness.invoice(books.tenant, "INV-00020").amount_due == 0

    # Cancelled unpaid: voided, and found again as such.
    (unpaid,) = push(books.ledger, [books.invoice_item("INV-00021")], books.mapping)
    void = d.cancellation(d.invoice("INV-00021"), credit="1100.00", paid="0")
    void_item = SyncItem("void", ObjectKind.CANCELLATION, void, {"invoice": unpaid.remote.id})
    voided, _ = push_through(books, void_item)
    assert voided.error is None
    assert books.ledger.find_existing(void_item).id == unpaid.remote.id


def push_through(books, item: SyncItem) -> tuple:
    """Every step of a multi-step operation, as the engine runs them: (the last outcome, the totals the
    steps reported)."""
    totals = []
    for _ in range(4):
        (outcome,) = push(books.ledger, [item], books.mapping)
        if outcome.remote is not None and outcome.remote.total is not None:
            totals.append(outcome.remote.total)
        if outcome.done or outcome.error is not None:
            return outcome, totals
        item = dataclasses.replace(item, remote_ids={**item.remote_ids, **outcome.extra_ids})
    raise AssertionError(f"{item.kind} took more than four steps")


# What each fault must mean to the engine; the codes are the provider's (the harness's expected_codes).
FAULT_KINDS = {
    "rate_limit": Retry,
    "offline": Retry,
    "maintenance": Retry,
    "server_error": Retry,
    "token_expired": TokenExpired,
    "token_revoked": Reconnect,
    # Closed before the ledger ran it, but from here it was sent: unknown, looked up.
    "drop": UnknownOutcome,
    "drop_after_commit": UnknownOutcome,
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_failure_is_named_by_what_happens_next(books, harness, fault):
    if fault not in harness.expected_codes:
        pytest.skip(f"{harness.provider}'s sandbox has no {fault} fault")
    kind, code = FAULT_KINDS[fault], harness.expected_codes[fault]
    item = books.invoice_item("INV-00030")
    harness.inject(fault, books.tenant, ObjectKind.INVOICE)
    try:
        with pytest.raises(LedgerError) as raised:
            push(books.ledger, [item], books.mapping)
    finally:
        harness.clear_faults()
    assert (type(raised.value), raised.value.code) == (kind, code)
    if kind is Retry and fault == "rate_limit":
        assert raised.value.after_s and raised.value.after_s > 0
    # What the engine acts on: the whole tenant waits, or the write may have landed.
    if fault in ("rate_limit", "offline", "maintenance"):
        assert raised.value.scope == "tenant" and raised.value.after_s
    if isinstance(raised.value, Retry):
        assert raised.value.maybe_written == (fault in harness.maybe_written_faults)
    committed = books.ledger.find_existing(item)  # the look-up an unknown outcome calls for
    assert (committed is not None) == (fault == "drop_after_commit")
    if committed is None:  # nothing was saved: the same key goes again and creates it once
        (outcome,) = push(books.ledger, [item], books.mapping)
        assert outcome.remote.number == "INV-00030"


def test_a_chart_reload_the_ledger_refuses_after_a_disconnect_on_its_side_asks_for_a_reconnect(
    connected, client, harness
):
    connection, _ = connected
    harness.revoke_grants()  # the user removed LedgerLink in the ledger itself
    reloaded = client.post(
        reverse("ledgers:chart", args=[harness.provider]), {"organisation": connection.organisation.pk}
    )
    assert reloaded.status_code == 502
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.NEEDS_RECONNECT


def test_the_connect_page_and_chart_reload_work_for_admins_only(connected, client, admin, harness):
    connection, tenant = connected
    page = client.get(reverse("ledgers:connect", args=[harness.provider]))
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content and str(connection.organisation.pk).encode() in page.content
    reloaded = client.post(
        reverse("ledgers:chart", args=[harness.provider]), {"organisation": connection.organisation.pk}
    )
    assert reloaded.status_code == 200 and b"accounts" in reloaded.content
    assert harness.calls(tenant, method="GET") == harness.connect_reads + harness.setup_reads  # and a reload
    admin[0].memberships.update(role="member")
    refused = client.post(
        reverse("ledgers:chart", args=[harness.provider]), {"organisation": connection.organisation.pk}
    )
    assert refused.status_code == 403
    assert client.get(reverse("ledgers:connect", args=["nonesuch"])).status_code == 404
