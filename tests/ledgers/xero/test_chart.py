"""A tax rate created in Xero after connecting (PUT /TaxRates) reaches the chart on the next reload, so a
CashFlow rate that had no match (an 8.375% Austin sales tax) is proposed one."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.suggest import tax_rate_for

from ..conftest import connect_through_views
from ..harness import XeroHarness

pytestmark = pytest.mark.django_db

AUSTIN = Decimal("8.3750")  # no seeded US rate has it: 6.25% state + 2.125% city
BOOKKEEPER_REDIRECT = "https://bookkeeper.example/callback"


def _bookkeeper_adds_a_rate(sandbox, tenant: str) -> str:
    """A bookkeeper adds the rate in Xero through an app of their own: the connector only reads settings."""
    app = sandbox.control.create_app([BOOKKEEPER_REDIRECT])
    code = sandbox.control.consent(app.client_id, [tenant], "accounting.settings", BOOKKEEPER_REDIRECT)
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": BOOKKEEPER_REDIRECT}
    token = requests.post(
        f"{sandbox.base_url}/connect/token", data=grant, auth=(app.client_id, app.client_secret), timeout=10
    ).json()["access_token"]
    rate = {
        "Name": "Austin Sales Tax",
        "TaxComponents": [{"Name": "State Tax", "Rate": 6.25}, {"Name": "City Tax", "Rate": 2.125}],
    }
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant, "Accept": "application/json"}
    url = f"{sandbox.base_url}/api.xro/2.0/TaxRates"
    response = requests.put(url, json=rate, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["TaxRates"][0]["TaxType"]


def test_a_rate_created_in_xero_appears_after_a_chart_reload(admin, client, settings, xero_sandbox):
    harness = XeroHarness(xero_sandbox)
    harness.configure(settings)
    tenant = xero_sandbox.control.create_tenant("US", "Lone Star Solar")
    assert connect_through_views(client, harness, admin[1], [tenant]).status_code == 200
    connection = Connection.objects.get(organisation=admin[1], tenant_id=tenant)
    assert tax_rate_for(chart_for(connection), AUSTIN, "Sales tax 8.375%") is None

    code = _bookkeeper_adds_a_rate(xero_sandbox, tenant)
    assert tax_rate_for(chart_for(connection), AUSTIN) is None  # the stored chart until a reload
    reloaded = client.post(reverse("ledgers:chart", args=["xero"]), {"organisation": admin[1].pk})
    assert reloaded.status_code == 200

    proposed = tax_rate_for(chart_for(connection), AUSTIN, "Sales tax 8.375%")
    assert proposed is not None
    assert (proposed.code, proposed.name, proposed.status) == (code, "Austin Sales Tax", "ACTIVE")
