"""Per-provider test harnesses for the shared contract suite (STYLE.md 6).

A harness is everything the suite needs to know about one provider and its sandbox, in the suite's words:
how to point LedgerLink at the sandbox and sign in without a browser, which accounts of the seeded chart
to map, what the ledger now holds ("the invoice with this number": its total, tax and amount due), how to
inject a fault of the suite's vocabulary, and which error code each fault is expected to produce. The suite
never reads a provider's JSON. A new ledger adds a harness (here or in its own test folder) and registers
it in `HARNESSES`; test_contract.py stays as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qs, urlsplit

from ledgerlink.ledgers.contract import AccountRef, Chart, ObjectKind, ResolvedMapping, TaxRateMapping
from ledgerlink.ledgers.oauth import redirect_uri

from . import documents as d

# The suite's fault vocabulary: what goes wrong, whatever the ledger's wire calls it.
FAULTS = (
    "rate_limit",  # the tenant's call budget is spent
    "offline",  # the tenant's books are unavailable for a while
    "maintenance",  # the whole ledger is down for a while
    "server_error",  # the ledger failed while handling the write
    "token_expired",  # the access token is past its life
    "token_revoked",  # the grant is gone
    "drop",  # the connection closed before the ledger ran the request
    "drop_after_commit",  # the ledger saved it, then the connection closed
)


@dataclass(frozen=True)
class RemoteInvoice:
    id: str
    total: Decimal
    total_tax: Decimal
    amount_due: Decimal
    voided: bool = False


class Harness(Protocol):
    provider: str
    client_id: str
    sales_code: str
    archived_code: str  # an account the chart lists but the ledger refuses postings to
    bank_code: str
    clearing_code: str  # a non-bank account that takes payments
    tax_code: str
    setup_reads: ClassVar[int]  # GET calls instant setup (a chart reload) makes
    connect_reads: ClassVar[int]  # GET calls a whole connect makes: setup and any look-up of the tenant
    customer_match_reads: ClassVar[int]  # GET calls one customer match makes, whatever the number matched
    one_tenant_per_grant: ClassVar[bool]  # the consent picks one tenant (no picker page)
    rotates_every_refresh: ClassVar[bool]  # a new refresh token on every refresh (else at the ledger's pace)
    keeps_customer_ids: ClassVar[bool]  # the ledger's contact carries CashFlow's customer id
    expected_codes: ClassVar[dict[str, str]]  # fault -> LedgerError.code; faults missing here are not offered
    maybe_written_faults: ClassVar[frozenset[str]]  # faults after which the write may have landed

    def configure(self, settings: Any) -> None: ...
    def new_tenant(self, name: str = ...) -> str: ...
    def consent(self, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]: ...
    def calls(self, tenant_id: str, **filters: Any) -> int: ...
    def writes(self, tenant_id: str) -> int: ...  # requests that write CashFlow's documents
    def mapping(self, chart: Chart, sales_code: str | None = None) -> ResolvedMapping: ...
    def account(self, chart: Chart, code: str) -> AccountRef: ...
    def customer_numbers(self, tenant_id: str) -> dict[str, str]: ...
    def invoice(self, tenant_id: str, number: str) -> RemoteInvoice | None: ...
    def invoice_numbers(self, tenant_id: str) -> list[str]: ...
    def inject(self, fault: str, tenant_id: str, kind: ObjectKind, count: int = 1) -> None: ...
    def clear_faults(self) -> None: ...
    def revoke_grants(self) -> None: ...


class SandboxHarness(Harness, Protocol):
    """What the engine's end-to-end fault suite (tests/sync/test_faults.py) needs beyond the contract suite:
    a sandbox in its own process with a clock, a request log, closing dates and token-endpoint faults."""

    key_memory_s: ClassVar[float]  # how long the sandbox replays an idempotency key (sandbox seconds)
    versions_objects: ClassVar[bool]  # an update names the version it read (QuickBooks' SyncToken)

    def lock_books(self, tenant_id: str, through: dt.date | None) -> None: ...
    def advance_clock(self, seconds: float) -> None: ...
    def lose_refresh_answers(self, count: int = 1) -> None: ...
    def replays(self, tenant_id: str) -> int: ...  # writes answered from the idempotency store
    def faults_fired(self, tenant_id: str, fault: str) -> int: ...


def consent_answer(control: Any, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]:
    """What a sandbox's consent page sends back to the callback (both sandboxes share the control API)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    code = control.consent(
        query["client_id"],
        tenant_ids,
        query["scope"],
        query["redirect_uri"],
        query["state"],
        query["code_challenge"],
    )
    return {"code": code, "state": query["state"]}


def account_by_code(chart: Chart, code: str) -> AccountRef:
    found = next(a for a in chart.accounts if a.code == code)
    return AccountRef(found.id, found.code, found.name)


def mapping_for(harness: Harness, chart: Chart, sales_code: str | None = None) -> ResolvedMapping:
    """GST to the sales account, card payments to the clearing account, the rest to the bank."""

    def ref(code: str) -> AccountRef:
        return harness.account(chart, code)

    return ResolvedMapping(
        tax_rates={d.GST: TaxRateMapping(ref(sales_code or harness.sales_code), harness.tax_code)},
        line_accounts={},
        payment_accounts={"card": ref(harness.clearing_code)},
        default_payment_account=ref(harness.bank_code),
    )


class SandboxProcess:
    """What both process sandboxes answer alike for the engine's fault suite (SandboxHarness): their
    control API's clock, request log and token-endpoint fault. A harness mixes it in beside `sandbox` and
    `client_id`."""

    sandbox: Any
    client_id: str

    def advance_clock(self, seconds: float) -> None:
        self.sandbox.control.advance_clock(seconds)

    def lose_refresh_answers(self, count: int = 1) -> None:
        rule = {"kind": "token_response_lost", "client_id": self.client_id, "count": count}
        self.sandbox.control.set_faults(rule)

    def replays(self, tenant_id: str) -> int:
        """Writes answered from the idempotency store (the first answer, replayed)."""
        return sum(1 for r in self.sandbox.control.requests(tenant_id) if r["replayed"])

    def faults_fired(self, tenant_id: str, fault: str) -> int:
        return sum(1 for r in self.sandbox.control.requests(tenant_id) if r["fault"] == fault)


def _money(value: object) -> Decimal:
    return Decimal(str(value))


@dataclass
class XeroHarness(SandboxProcess):
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
    setup_reads: ClassVar[int] = 4  # accounts, tax rates, tracking categories, currencies
    connect_reads: ClassVar[int] = 4
    customer_match_reads: ClassVar[int] = 1
    one_tenant_per_grant: ClassVar[bool] = False
    rotates_every_refresh: ClassVar[bool] = True
    keeps_customer_ids: ClassVar[bool] = True  # in ContactNumber
    maybe_written_faults: ClassVar[frozenset[str]] = frozenset({"server_error"})
    expected_codes: ClassVar[dict[str, str]] = {
        "rate_limit": "rate_limit:minute",
        "offline": "organisation_offline",
        "maintenance": "maintenance",
        "server_error": "server_500",
        "token_expired": "token_expired",
        "token_revoked": "unauthorized",
        "drop": "no_response",
        "drop_after_commit": "no_response",
    }
    _collections: ClassVar[dict[ObjectKind, str]] = {
        ObjectKind.CUSTOMER: "Contacts",
        ObjectKind.INVOICE: "Invoices",
        ObjectKind.PAYMENT: "Payments",
    }

    def configure(self, settings: Any) -> None:
        base = self.sandbox.base_url
        settings.XERO_AUTHORIZE_URL = f"{base}/identity/connect/authorize"
        settings.XERO_IDENTITY_URL = base
        settings.XERO_API_URL = base
        settings.XERO_WEB_URL = base  # Xero's app pages, for deep links
        app = self.sandbox.control.create_app([redirect_uri(self.provider)])
        settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
        self.client_id = app.client_id

    def new_tenant(self, name: str = "Sunny Installs", **options: Any) -> str:
        return str(self.sandbox.control.create_tenant("AU", name, **options))

    def consent(self, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]:
        return consent_answer(self.sandbox.control, authorize_url, tenant_ids)

    def calls(self, tenant_id: str, **filters: Any) -> int:
        return int(self.sandbox.control.count(tenant_id, **filters))

    def mapping(self, chart: Chart, sales_code: str | None = None) -> ResolvedMapping:
        return mapping_for(self, chart, sales_code)

    def account(self, chart: Chart, code: str) -> AccountRef:
        return account_by_code(chart, code)

    def _documents(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        return list(self.sandbox.control.ledger(tenant_id).get(collection) or [])

    def customer_numbers(self, tenant_id: str) -> dict[str, str]:
        return {c["Name"]: c.get("ContactNumber", "") for c in self._documents(tenant_id, "Contacts")}

    def invoice(self, tenant_id: str, number: str) -> RemoteInvoice | None:
        for found in self._documents(tenant_id, "Invoices"):
            if found["InvoiceNumber"] == number:
                return RemoteInvoice(
                    found["InvoiceID"],
                    _money(found["Total"]),
                    _money(found["TotalTax"]),
                    _money(found["AmountDue"]),
                    found["Status"] == "VOIDED",
                )
        return None

    def invoice_numbers(self, tenant_id: str) -> list[str]:
        return [i["InvoiceNumber"] for i in self._documents(tenant_id, "Invoices")]

    def inject(self, fault: str, tenant_id: str, kind: ObjectKind, count: int = 1) -> None:
        path = f"*/{self._collections[kind]}"
        self.sandbox.control.set_faults({"kind": fault, "tenant_id": tenant_id, "path": path, "count": count})

    def clear_faults(self) -> None:
        self.sandbox.control.clear_faults()

    def revoke_grants(self) -> None:
        self.sandbox.control.revoke_tokens(client_id=self.client_id)

    def writes(self, tenant_id: str) -> int:
        return self.calls(tenant_id, method="PUT") + self.calls(tenant_id, method="POST")

    # --- What the engine's fault suite adds (SandboxHarness) ----------------------------------------------
    key_memory_s: ClassVar[float] = 360.0  # Xero forgets an Idempotency-Key after 6 minutes (xero.md 4)
    versions_objects: ClassVar[bool] = False

    def lock_books(self, tenant_id: str, through: dt.date | None) -> None:
        self.sandbox.control.update_settings(tenant_id, lock_date=through.isoformat() if through else None)


def _xero(request: Any) -> XeroHarness:
    return XeroHarness(request.getfixturevalue("xero_sandbox"))


def _quickbooks(request: Any) -> Harness:
    from .quickbooks.harness import QuickBooksHarness

    return QuickBooksHarness(request.getfixturevalue("quickbooks_sandbox"))


def _tally(request: Any) -> Harness:
    from .tally.harness import TallyHarness

    return TallyHarness.start(request)


# Each provider's harness, started for one test from pytest's request (its sandbox fixture, registration).
HARNESSES: dict[str, Callable[[Any], Harness]] = {"xero": _xero, "quickbooks": _quickbooks, "tally": _tally}
