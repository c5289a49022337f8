"""Helpers for the cashflow tests: a JSON API client and ready-made invoices."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from ledgerlink.cashflow import services


class ApiClient:
    """Django's test client speaking JSON with an organisation's bearer key."""

    def __init__(self, client: Any, key: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body: Any = None, *, key: str | None = None, raw: str | None = None):
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", headers=headers)


def invoice_body(customer, tax_rate, **overrides: Any) -> dict[str, Any]:
    """A valid custom invoice body: one 1,100.00 inclusive system line by default."""
    body = {
        "customer_id": str(customer.pk),
        "kind": "custom",
        "due_date": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
        "tax_inclusive": True,
        "lines": [
            {
                "line_type": "system",
                "description": "6.6 kW solar system",
                "quantity": "1",
                "unit_amount": "1100.00",
                "tax_rate_id": str(tax_rate.pk),
            }
        ],
    }
    body.update(overrides)
    return body


def make_invoice(
    organisation, customer, tax_rate, *, amount: str = "1100.00", issue: bool = True, **overrides
):
    """An invoice made through the services (draft, or issued when `issue`)."""
    data = services.InvoiceInput(
        customer_id=customer.pk,
        kind="custom",
        due_date=dt.date.today() + dt.timedelta(days=14),
        tax_inclusive=True,
        lines=(services.LineInput("system", "Solar system", Decimal(1), Decimal(amount), tax_rate.pk),),
        **overrides,
    )
    invoice = services.create_invoice(organisation, data)
    return services.issue_invoice(invoice) if issue else invoice
