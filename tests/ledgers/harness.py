"""Per-provider test harnesses for the shared contract suite (STYLE.md 6): how to point LedgerLink at the
provider's sandbox, sign in without a browser, and which accounts of the sandbox's seeded chart to map.
A new ledger adds a harness here; test_contract.py stays as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledgerlink.ledgers.contract import AccountRef, Chart, ResolvedMapping, TaxRateMapping
from ledgerlink.ledgers.oauth import redirect_uri

from . import documents as d


@dataclass
class XeroHarness:
    """The Xero sandbox's seeded AU chart (sandbox/xero/seed.py): Sales 200, an archived 205, bank 090, a
    payments-enabled clearing account 615, GST on Income OUTPUT."""

    sandbox: Any
    client_id: str = ""
    provider: str = "xero"
    sales_code: str = "200"
    archived_code: str = "205"
    bank_code: str = "090"
    clearing_code: str = "615"
    tax_code: str = "OUTPUT"

    def configure(self, settings: Any) -> None:
        base = self.sandbox.base_url
        settings.XERO_AUTHORIZE_URL = f"{base}/identity/connect/authorize"
        settings.XERO_IDENTITY_URL = base
        settings.XERO_API_URL = base
        app = self.sandbox.control.create_app([redirect_uri("xero")])
        settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
        self.client_id = app.client_id

    def new_tenant(self, name: str = "Sunny Installs", **options: Any) -> str:
        return self.sandbox.control.create_tenant("AU", name, **options)

    def consent(self, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]:
        """What the ledger's consent page would send back to the callback: code and state."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = self.sandbox.control.consent(
            query["client_id"],
            tenant_ids,
            query["scope"],
            query["redirect_uri"],
            query["state"],
            query["code_challenge"],
        )
        return {"code": code, "state": query["state"]}

    def remote_documents(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        return list(self.sandbox.control.ledger(tenant_id).get(collection) or [])

    def calls(self, tenant_id: str, **filters: Any) -> int:
        return self.sandbox.control.count(tenant_id, **filters)

    def mapping(self, chart: Chart, sales_code: str | None = None) -> ResolvedMapping:
        by_code = {a.code: a for a in chart.accounts}

        def ref(code: str) -> AccountRef:
            return AccountRef(by_code[code].id, code)

        sales = ref(sales_code or self.sales_code)
        return ResolvedMapping(
            tax_rates={d.GST: TaxRateMapping(sales, self.tax_code)},
            line_accounts={},
            payment_accounts={"card": ref(self.clearing_code)},
            default_payment_account=ref(self.bank_code),
        )


HARNESSES = {"xero": (XeroHarness, "xero_sandbox")}
