"""The QuickBooks Online harness for the shared contract suite (STYLE.md 6), mirroring `XeroHarness`: how to
point LedgerLink at the QuickBooks sandbox, sign in without a browser, and which objects of the sandbox's
seeded chart to map (sandbox/quickbooks/seed.py). QuickBooks accounts carry no code, so the `*_code`
attributes hold account ids, and `mapping` maps by id.

Default company: AU (GST 10% is tax code 4, custom transaction numbers on), which fits the suite's GST
documents; `new_tenant(region="US", ...)` gives the automated-sales-tax company."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from ledgerlink.devtools.sandboxes import SandboxApp
from ledgerlink.ledgers.contract import AccountRef, Chart, ObjectKind, ResolvedMapping, TaxRateMapping
from ledgerlink.ledgers.oauth import redirect_uri

from .. import documents as d
from ..harness import RemoteInvoice, SandboxProcess


@dataclass
class QuickBooksHarness(SandboxProcess):
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
    # Instant setup: accounts, tax codes, tax rates, preferences (and, in the callback, CompanyInfo for the
    # company's name). Payment methods wait for the first payment that names one.
    setup_reads: ClassVar[int] = 4
    connect_reads: ClassVar[int] = 5  # and CompanyInfo, for the company's name
    customer_match_reads: ClassVar[int] = 2  # emails, then names among customers (contacts.name_holders)
    one_tenant_per_grant: ClassVar[bool] = True  # Intuit's consent picks one company
    rotates_every_refresh: ClassVar[bool] = False  # Intuit rotates about once a day
    keeps_customer_ids: ClassVar[bool] = False
    # A 503 may come after the work (a cached 503 must not loop under the same requestid).
    maybe_written_faults: ClassVar[frozenset[str]] = frozenset({"server_error", "offline", "maintenance"})
    expected_codes: ClassVar[dict[str, str]] = {
        "rate_limit": "rate_limit",
        "offline": "unavailable",
        "maintenance": "unavailable",
        "server_error": "server_500",
        "token_expired": "token_expired",
        "token_revoked": "token_revoked",
        "drop": "no_response",
        "drop_after_commit": "no_response",
    }

    def configure(self, settings: Any) -> SandboxApp:
        base = self.sandbox.base_url
        settings.QBO_AUTHORIZE_URL = f"{base}/connect/oauth2"
        settings.QBO_TOKEN_URL = f"{base}/oauth2/v1/tokens/bearer"
        settings.QBO_REVOKE_URL = f"{base}/v2/oauth2/tokens/revoke"
        settings.QBO_API_URL = base
        settings.QBO_WEB_URL = base  # QuickBooks' app pages, for deep links
        app = self.sandbox.control.create_app([redirect_uri("quickbooks")])
        settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET = app.client_id, app.client_secret
        self.client_id = app.client_id
        return app

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

    def account(self, chart: Chart, code: str) -> AccountRef:
        """By id: QuickBooks accounts carry no code."""
        found = next(a for a in chart.accounts if a.id == code)
        return AccountRef(found.id, found.code, found.name)

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

    # --- What the shared suite reads (tests/ledgers/harness.py `Harness`) ---------------------------------

    def writes(self, tenant_id: str) -> int:
        """Writes of CashFlow's documents: the batches (the Service items made at first use are setup)."""
        return self.calls(tenant_id, method="POST", path="*/batch")

    def customer_numbers(self, tenant_id: str) -> dict[str, str]:
        """QuickBooks customers carry no number of ours: display names, each with ""."""
        return {c["DisplayName"]: "" for c in self.remote_documents(tenant_id, "Customer")}

    def invoice(self, tenant_id: str, number: str) -> RemoteInvoice | None:
        for found in self.remote_documents(tenant_id, "Invoice"):
            if found.get("DocNumber") == number:
                return RemoteInvoice(
                    str(found["Id"]),
                    Decimal(str(found["TotalAmt"])),
                    Decimal(str((found.get("TxnTaxDetail") or {}).get("TotalTax", 0))),
                    Decimal(str(found["Balance"])),
                    str(found.get("PrivateNote", "")).startswith("Voided"),
                )
        return None

    def invoice_numbers(self, tenant_id: str) -> list[str]:
        return [str(i.get("DocNumber", "")) for i in self.remote_documents(tenant_id, "Invoice")]

    def inject(self, fault: str, tenant_id: str, kind: ObjectKind, count: int = 1) -> None:
        """Customers, invoices and payments are created through /batch: the rule picks the batch carrying
        that entity. A stale SyncToken meets the single-object updates (a payment edited by a refund, an
        invoice voided)."""
        rule: dict[str, Any] = {"kind": fault, "tenant_id": tenant_id, "count": count}
        if fault == "stale_sync_token":
            rule.update(method="POST", path=f"*/{self._updated[kind].lower()}")
        else:
            rule.update(path="*/batch", body=f'"{self._entities[kind]}":')
        self.sandbox.control.set_faults(rule)

    def clear_faults(self) -> None:
        self.sandbox.control.clear_faults()

    def revoke_grants(self) -> None:
        self.sandbox.control.revoke_tokens(client_id=self.client_id)

    # --- What the engine's fault suite adds (SandboxHarness) ----------------------------------------------
    key_memory_s: ClassVar[float] = 86_400.0  # the sandbox's choice: Intuit does not document it
    versions_objects: ClassVar[bool] = True  # SyncToken
    _entities: ClassVar[dict[ObjectKind, str]] = {
        ObjectKind.CUSTOMER: "Customer",
        ObjectKind.INVOICE: "Invoice",
        ObjectKind.PAYMENT: "Payment",
    }
    _updated: ClassVar[dict[ObjectKind, str]] = {
        ObjectKind.PAYMENT_REVERSAL: "Payment",
        ObjectKind.CANCELLATION: "Invoice",
    }

    def lock_books(self, tenant_id: str, through: dt.date | None) -> None:
        """QuickBooks' closing date (Preferences.AccountingInfoPrefs.BookCloseDate)."""
        self.sandbox.control.update_settings(
            tenant_id, book_close_date=through.isoformat() if through else None
        )
