"""The QuickBooks Online harness for the shared contract suite (STYLE.md 6), mirroring `XeroHarness`: how to
point LedgerLink at the QuickBooks sandbox, sign in without a browser, and which objects of the sandbox's
seeded chart to map (sandbox/quickbooks/seed.py). QuickBooks accounts carry no code, so the `*_code`
attributes hold account ids, and `mapping` maps by id.

Default company: AU (GST 10% is tax code 4, custom transaction numbers on), which fits the suite's GST
documents; `new_tenant(region="US", ...)` gives the automated-sales-tax company."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledgerlink.ledgers.contract import AccountRef, Chart, ResolvedMapping, TaxRateMapping
from ledgerlink.ledgers.oauth import redirect_uri

from .. import documents as d


@dataclass
class QuickBooksHarness:
    """The sandbox's seeded companies: Sales of Product Income 6, Services 7, the inactive income account
    11, Checking 1 (Bank), Undeposited Funds 3; GST 4 (AU), TAX/NON (US)."""

    sandbox: Any
    client_id: str = ""
    provider: str = "quickbooks"
    region: str = "AU"
    sales_code: str = "6"
    archived_code: str = "11"
    bank_code: str = "1"
    clearing_code: str = "3"  # Undeposited Funds: card takings wait there for the bank deposit
    tax_code: str = "4"

    def configure(self, settings: Any) -> None:
        base = self.sandbox.base_url
        settings.QBO_AUTHORIZE_URL = f"{base}/connect/oauth2"
        settings.QBO_TOKEN_URL = f"{base}/oauth2/v1/tokens/bearer"
        settings.QBO_REVOKE_URL = f"{base}/v2/oauth2/tokens/revoke"
        settings.QBO_API_URL = base
        app = self.sandbox.control.create_app([redirect_uri("quickbooks")])
        settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET = app.client_id, app.client_secret
        self.client_id = app.client_id

    def new_tenant(self, name: str = "Sunny Installs", region: str | None = None, **options: Any) -> str:
        return self.sandbox.control.create_company(region or self.region, name, **options)

    def consent(self, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]:
        """What Intuit's consent page sends back to the callback: code, state and the company's realmId."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = self.sandbox.control.consent(
            query["client_id"],
            tenant_ids,
            query["scope"],
            query["redirect_uri"],
            query["state"],
            query.get("code_challenge"),
        )
        return {"code": code, "state": query["state"], "realmId": tenant_ids[0]}

    def remote_documents(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        """Customer, Item, Invoice, CreditMemo, RefundReceipt or Payment, in QuickBooks' JSON."""
        return list(self.sandbox.control.ledger(tenant_id).get(collection) or [])

    def calls(self, tenant_id: str, **filters: Any) -> int:
        return self.sandbox.control.count(tenant_id, **filters)

    def mapping(self, chart: Chart, sales_code: str | None = None) -> ResolvedMapping:
        by_id = {a.id: a for a in chart.accounts}

        def ref(account_id: str) -> AccountRef:
            return AccountRef(account_id, by_id[account_id].code, by_id[account_id].name)

        sales = ref(sales_code or self.sales_code)
        return ResolvedMapping(
            tax_rates={d.GST: TaxRateMapping(sales, self.tax_code), d.EXEMPT: TaxRateMapping(sales, "6")},
            line_accounts={},
            payment_accounts={"card": ref(self.clearing_code)},
            default_payment_account=ref(self.bank_code),
        )
