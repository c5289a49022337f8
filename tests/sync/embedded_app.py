"""A tiny driver for the embedded-mode test, run as its own process on an embedded SQLite file (the test
process's database is pytest's, which other processes cannot see):

    python embedded_app.py seed            -> connects an organisation to a sandbox tenant, prints its id
    python embedded_app.py issue ORG N     -> issues N invoices (each rings the SqliteHuey doorbell)
    python embedded_app.py scenarios ORG N THREADS
                                           -> N invoices paid, partly reversed and cancelled from THREADS
                                              threads at once (scenarios.py); prints CashFlow's books as JSON
    python embedded_app.py states          -> prints the sync records' states as JSON

Environment: the usual LedgerLink settings, plus SANDBOX_URL and SANDBOX_TOKEN for the control API."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal

import django


def seed() -> None:
    from ledgerlink.cashflow import services
    from ledgerlink.devtools.sandboxes import SandboxControl
    from ledgerlink.ledgers.charts import chart_for, refresh_chart
    from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping
    from ledgerlink.ledgers.oauth import pkce_pair
    from ledgerlink.ledgers.suggest import propose
    from ledgerlink.ledgers.xero.oauth import SCOPES, XeroOAuth

    control = SandboxControl(os.environ["SANDBOX_URL"], os.environ["SANDBOX_TOKEN"])
    organisation = services.create_organisation("Embedded Solar", "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    tenant_id = control.create_tenant("AU", "Embedded Solar")
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:8000/connections/xero/callback/"
    code = control.consent(os.environ["XERO_CLIENT_ID"], [tenant_id], " ".join(SCOPES), redirect_uri=redirect,
                           code_challenge=challenge)  # fmt: skip
    tokens = XeroOAuth(str(organisation.pk)).exchange_code(code, verifier, redirect)
    connection = Connection.objects.create(
        organisation=organisation, provider="xero", tenant_id=tenant_id, access_token=tokens.access_token,
        refresh_token=tokens.refresh_token, access_expires_at=tokens.expires_at, scopes=tokens.scope,
    )  # fmt: skip
    refresh_chart(connection)
    proposal = propose(chart_for(connection), [(str(gst.pk), gst.rate)])  # type: ignore[arg-type]
    account, tax = proposal.tax_rates[0].account, proposal.tax_rates[0].tax
    TaxRateMapping.objects.create(organisation=organisation, provider="xero", tax_rate=gst,
                                  account_id=account.id, account_code=account.code,
                                  ledger_tax_code=tax.code)  # fmt: skip
    bank = proposal.payment_account
    PaymentAccountMapping.objects.create(organisation=organisation, provider="xero", account_id=bank.id,
                                         account_code=bank.code, is_default=True)  # fmt: skip
    print(json.dumps({"organisation": str(organisation.pk), "tenant": tenant_id}))


def issue(organisation_id: str, count: int) -> None:
    from ledgerlink.cashflow import services
    from ledgerlink.cashflow.models import Organisation, TaxRate

    organisation = Organisation.objects.get(pk=organisation_id)
    gst = TaxRate.objects.get(organisation=organisation)
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Eve", email="eve@example.com")
    )
    numbers = []
    for n in range(count):
        line = services.LineInput("service", "Service call", Decimal(1), Decimal(f"{150 + n}.25"), gst.pk)
        draft = services.create_invoice(organisation, services.InvoiceInput(
            customer_id=customer.pk, kind="custom", due_date=dt.date.today() + dt.timedelta(days=14),
            tax_inclusive=True, lines=[line],
        ))  # fmt: skip
        numbers.append(services.issue_invoice(draft).number)
    print(json.dumps(numbers))


def play_scenarios(organisation_id: str, count: int, threads: int) -> None:
    import scenarios  # beside this file: the script's folder is on sys.path

    from ledgerlink.cashflow import services
    from ledgerlink.cashflow.models import Organisation, TaxRate

    organisation = Organisation.objects.get(pk=organisation_id)
    gst = TaxRate.objects.get(organisation=organisation)
    customer = services.create_customer(
        organisation, services.CustomerInput(name="Oscar", email="oscar@example.com")
    )
    scenarios.run(organisation, customer, gst, count, threads)
    print(json.dumps(scenarios.expected_books(organisation)))


def states() -> None:
    from ledgerlink.sync.models import SyncRecord

    print(json.dumps(sorted(SyncRecord.objects.values_list("kind", "state"))))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledgerlink.settings")
    django.setup()
    command, *args = sys.argv[1:]
    commands = {
        "seed": seed,
        "issue": lambda: issue(args[0], int(args[1])),
        "scenarios": lambda: play_scenarios(args[0], int(args[1]), int(args[2])),
        "states": states,
    }
    commands[command]()  # type: ignore[operator]
