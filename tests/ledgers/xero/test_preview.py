"""The preview screen shows the exact body the connector would send, from the same builder."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledgerlink.cashflow import services
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.models import TaxRateMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(connected):
    connection, _ = connected
    organisation = connection.organisation
    customer = services.create_customer(
        organisation, services.CustomerInput("Jane Smith", "jane@example.com")
    )
    tax = services.create_tax_rate(organisation, "GST 10%", Decimal(10))
    invoice = services.create_invoice(
        organisation,
        services.InvoiceInput(
            customer_id=customer.pk,
            kind="custom",
            due_date=services.organisation_today(organisation),
            tax_inclusive=False,
            lines=(services.LineInput("system", "Solar system", Decimal(1), Decimal("12.25"), tax.pk),),
        ),
    )
    return connection, services.issue_invoice(invoice), tax


def _preview(client, invoice, **params):
    return client.get(reverse("web:preview", args=[invoice.organisation_id, invoice.pk]), params)


def test_preview_shows_the_exact_xero_body_and_the_missing_mapping(issued, client):
    connection, invoice, tax = issued
    before = json.loads(_preview(client, invoice, format="json").content)
    assert before["body"] is None
    assert [p["field"] for p in before["problems"]] == [
        f"tax_rate:{tax.pk}.tax_code",
        f"tax_rate:{tax.pk}.account",
    ]

    sales = next(a for a in chart_for(connection).accounts if a.code == "200")
    TaxRateMapping.objects.create(
        organisation=connection.organisation,
        provider="xero",
        tax_rate=tax,
        account_id=sales.id,
        account_code="200",
        ledger_tax_code="OUTPUT",
    )
    response = _preview(client, invoice, format="json")
    after = json.loads(response.content)
    assert (after["method"], after["path"], after["params"], after["problems"]) == (
        "PUT",
        "/Invoices",
        {"summarizeErrors": "false", "unitdp": "4"},
        [],
    )
    (line,) = after["body"]["Invoices"][0]["LineItems"]
    assert line == {
        "Description": "Solar system",
        "Quantity": 1,
        "UnitAmount": 12.25,
        "LineAmount": 12.25,
        "TaxType": "OUTPUT",
        "TaxAmount": 1.23,
        "AccountCode": "200",
    }
    assert b'"TaxAmount":1.23' in response.content  # the exact wire text
    page = _preview(client, invoice)
    assert page.status_code == 200 and invoice.number.encode() in page.content


def test_preview_is_scoped_to_the_users_organisations(issued, django_user_model):
    _, invoice, _ = issued
    stranger = Client()
    stranger.force_login(django_user_model.objects.create_user("stranger", password="pw-123456"))
    assert _preview(stranger, invoice, format="json").status_code == 404
    assert (
        Client().get(reverse("web:preview", args=[invoice.organisation_id, invoice.pk])).status_code == 302
    )  # sign in
