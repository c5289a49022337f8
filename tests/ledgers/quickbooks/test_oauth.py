"""Connecting QuickBooks through the real views: Intuit's consent answer with its realmId, the chart and
preferences loaded at once, rotating refresh tokens, and a disconnect that revokes the grant."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from ledgerlink.ledgers import http
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.errors import Reconnect, Retry, UnknownOutcome
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.registry import oauth_for, open_ledger
from ledgerlink.ledgers.suggest import propose
from ledgerlink.ledgers.tokens import ensure_fresh_token

from .conftest import connect

pytestmark = pytest.mark.django_db


def test_connect_asks_for_the_accounting_scope_and_keeps_the_realm_as_tenant(admin, client, qbo):
    started = client.post(reverse("ledgers:connect", args=["quickbooks"]), {"organisation": admin[1].pk})
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    realm = qbo.new_tenant("Harbour Solar")
    answer = qbo.consent(started["Location"], [realm])
    response = client.get(reverse("ledgers:callback", args=["quickbooks"]), answer)
    assert response.status_code == 200, response.content
    connection = Connection.objects.get(organisation=admin[1])
    assert (connection.provider, connection.tenant_id, connection.tenant_name) == (
        "quickbooks",
        realm,
        "Harbour Solar",
    )
    assert connection.access_token and connection.refresh_token


def test_the_chart_holds_accounts_tax_codes_and_the_company_preferences(admin, client, qbo):
    connection = connect(client, qbo, admin[1])
    chart = chart_for(connection)
    accounts = {a.id: a for a in chart.accounts}
    assert accounts["6"].is_revenue and accounts["1"].accepts_payments and accounts["3"].accepts_payments
    assert accounts["11"].status == "ARCHIVED" and not accounts["4"].accepts_payments
    codes = {t.code: t for t in chart.tax_rates}
    assert (codes["4"].rate, codes["6"].rate) == (10, 0)
    company = open_ledger(ensure_fresh_token(connection.pk)).company
    assert (company.us_sales_tax, company.custom_numbers, company.multicurrency) == (False, True, False)
    assert (company.home_currency, company.zero_code) == ("AUD", "6")


def test_a_us_company_uses_automated_sales_tax(admin, client, qbo):
    connection = connect(client, qbo, admin[1], region="US")
    us = open_ledger(ensure_fresh_token(connection.pk)).company
    assert (us.us_sales_tax, us.us_code, us.zero_code, us.custom_numbers) == (True, "2", "NON", False)
    # Lines take TAX/NON only: TAX carries the jurisdiction's rate, the jurisdiction code is no line's.
    codes = {t.code: (t.rate, t.applies_to_revenue) for t in chart_for(connection).tax_rates}
    assert codes == {"TAX": (Decimal("7.25"), True), "NON": (0, True), "2": (Decimal("7.25"), False)}


def test_refresh_returns_the_token_to_keep_and_disconnect_revokes_the_grant(admin, client, qbo):
    connection = connect(client, qbo, admin[1])
    oauth = oauth_for("quickbooks", admin[1].pk)
    tokens = oauth.refresh(connection.refresh_token)
    assert tokens.access_token and tokens.refresh_token
    oauth.disconnect(tokens.access_token, "", tokens.refresh_token)
    with pytest.raises(Reconnect):
        oauth.refresh(tokens.refresh_token)


def test_disconnect_through_the_view_keeps_history(admin, client, qbo):
    connection = connect(client, qbo, admin[1])
    refresh = connection.refresh_token
    response = client.post(reverse("ledgers:disconnect", args=["quickbooks"]), {"organisation": admin[1].pk})
    assert response.status_code in (200, 302)
    connection.refresh_from_db()
    assert connection.status != "active"
    with pytest.raises(Reconnect):
        oauth_for("quickbooks").refresh(refresh)


def test_a_callback_without_a_realm_connects_nothing(admin, client, qbo):
    started = client.post(reverse("ledgers:connect", args=["quickbooks"]), {"organisation": admin[1].pk})
    answer = qbo.consent(started["Location"], [qbo.new_tenant()])
    del answer["realmId"]
    response = client.get(reverse("ledgers:callback", args=["quickbooks"]), answer)
    assert response.status_code == 400
    assert not Connection.objects.exists()


def test_a_rotated_refresh_token_is_stored_under_the_row_lock_and_the_old_one_refused(admin, client, qbo):
    connection = connect(client, qbo, admin[1])
    old = connection.refresh_token
    same_day = ensure_fresh_token(connection.pk, force=True)
    assert same_day.refresh_token == old  # Intuit hands the same value back within 24 hours
    qbo.sandbox.control.advance_clock(25 * 3600)
    rotated = ensure_fresh_token(connection.pk, force=True)
    assert rotated.refresh_token != old and rotated.access_token != same_day.access_token
    with pytest.raises(Reconnect):
        oauth_for("quickbooks").refresh(old)
    # The ledger works on with the stored token set.
    assert open_ledger(ensure_fresh_token(connection.pk)).load_chart().accounts


def test_a_revoked_grant_marks_the_connection_needs_reconnect(admin, client, qbo):
    connection = connect(client, qbo, admin[1])
    qbo.sandbox.control.revoke_tokens(client_id=qbo.client_id, tenant_id=connection.tenant_id)
    with pytest.raises(Reconnect):
        ensure_fresh_token(connection.pk, force=True)
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"


def test_a_lost_refresh_answer_is_retried_with_the_same_refresh_token(admin, client, qbo, monkeypatch):
    """The refresh reached Intuit, its answer did not come back. Within the day Intuit hands the same
    refresh token back, so the stored one still works and the next refresh recovers."""
    connection = connect(client, qbo, admin[1])
    real = http.send

    def lose_the_answer(context, method, url, **kwargs):
        exchange = real(context, method, url, **kwargs)
        if url.endswith("/tokens/bearer"):
            raise UnknownOutcome("dropped after the token endpoint answered", code="no_response")
        return exchange

    monkeypatch.setattr(http, "send", lose_the_answer)
    with pytest.raises(Retry):
        ensure_fresh_token(connection.pk, force=True)
    monkeypatch.undo()
    connection.refresh_from_db()
    assert connection.status == "active"
    again = ensure_fresh_token(connection.pk, force=True)
    assert again.refresh_token == connection.refresh_token and again.access_token != connection.access_token


@pytest.mark.parametrize(
    ("region", "percent", "tax"), [("AU", "10", "4"), ("US", "7.25", "TAX"), ("AU", "0", "6")]
)
def test_the_mapping_is_proposed_from_the_loaded_chart(admin, client, qbo, region, percent, tax):
    chart = chart_for(connect(client, qbo, admin[1], region=region))
    proposal = propose(chart, [("cashflow-rate", Decimal(percent), "Sales tax")])
    (suggestion,) = proposal.tax_rates
    assert (suggestion.account.id, suggestion.tax.code, proposal.payment_account.id) == ("6", tax, "1")
