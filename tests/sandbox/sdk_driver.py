"""Drives the sandbox with the official xero-python SDK, changed only in its base URLs.

Run as its own process (``python sdk_driver.py BASE CLIENT_ID SECRET TENANT TOKENS_JSON``): xero-python's
``Configuration`` is a process-wide template (real-clients.md trap 5), so one process per app. Prints one
JSON object with what it saw.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
import uuid
from decimal import Decimal

from xero_python.accounting import (
    Account,
    AccountingApi,
    Contact,
    Contacts,
    Invoice,
    Invoices,
    LineItem,
    Payment,
    TaxComponent,
    TaxRate,
    TaxRates,
)
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi


def main(base: str, client_id: str, client_secret: str, tenant_id: str, tokens_json: str) -> dict:
    TokenApi.refresh_token_url = base + "/connect/token"
    TokenApi.revoke_token_url = base + "/connect/revocation"
    store: dict = {}
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id=client_id, client_secret=client_secret)),
        pool_threads=1,
    )

    @client.oauth2_token_getter
    def get_token() -> dict:
        return store["token"]

    @client.oauth2_token_saver
    def save_token(token: dict) -> None:
        store["token"] = token

    tokens = json.loads(tokens_json)
    tokens["scope"] = tokens["scope"].split()
    tokens["expires_at"] = time.time() + tokens["expires_in"]
    client.set_oauth2_token(tokens)
    before = store["token"]["refresh_token"]
    client.refresh_oauth2_token()
    rotated = store["token"]["refresh_token"] != before
    connections = IdentityApi(client, base_url=base).get_connections()
    api = AccountingApi(client, base_url=base + "/api.xro/2.0")
    accounts = api.get_accounts(tenant_id, where='Type=="BANK"').accounts
    rates = api.get_tax_rates(tenant_id).tax_rates
    levy = TaxRate(
        name="SDK Levy", report_tax_type="OUTPUT", tax_components=[TaxComponent(name="Levy", rate=2.25)]
    )
    created_rate = api.create_tax_rates(
        tenant_id, TaxRates(tax_rates=[levy]), idempotency_key=str(uuid.uuid4())
    ).tax_rates[0]
    read_rate = api.get_tax_rate_by_tax_type(tenant_id, created_rate.tax_type).tax_rates[0]
    contact = api.create_contacts(
        tenant_id,
        Contacts(
            contacts=[Contact(name="SDK Solar", email_address="sdk@solar.test", contact_number="SDK-1")]
        ),
        summarize_errors=False,
        idempotency_key=str(uuid.uuid4()),
    ).contacts[0]
    found = api.get_contacts(tenant_id, where='EmailAddress=="sdk@solar.test"').contacts
    line = LineItem(
        description="Panels", quantity=Decimal("24"), unit_amount=Decimal("4763.25"), account_code="200"
    )
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact.contact_id),
        line_items=[line],
        date=datetime.date(2026, 10, 25),
        due_date=datetime.date(2026, 11, 24),
        invoice_number="SDK-INV-1",
        status="AUTHORISED",
    )
    created = api.create_invoices(tenant_id, Invoices(invoices=[invoice]), summarize_errors=False).invoices[0]
    payment = api.create_payment(
        tenant_id,
        Payment(
            invoice=Invoice(invoice_id=created.invoice_id),
            account=Account(code=accounts[0].code),
            amount=created.total,
            date=datetime.date(2026, 10, 30),
        ),
    ).payments[0]
    read_back = api.get_invoices(tenant_id, invoice_numbers=["SDK-INV-1"]).invoices[0]
    return {
        "rotated": rotated,
        "connections": [str(c.tenant_id) for c in connections],
        "bank_accounts": [a.code for a in accounts],
        "tax_types": [r.tax_type for r in rates],
        "created_tax_rate": [created_rate.tax_type, created_rate.status, str(created_rate.effective_rate)],
        "read_tax_rate": [read_rate.name, read_rate.report_tax_type, read_rate.can_apply_to_revenue],
        "contact_status": contact.status_attribute_string,
        "found_contacts": [str(c.contact_id) for c in found],
        "contact_id": str(contact.contact_id),
        "invoice_status": created.status,
        "invoice_total": str(created.total),
        "invoice_date": created.date.isoformat(),
        "payment_status": payment.status,
        "read_back_status": read_back.status,
        "read_back_due": str(read_back.amount_due),
        "read_back_payments": [str(p.amount) for p in read_back.payments],
        "fully_paid_on": read_back.fully_paid_on_date.isoformat(),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:6])))
