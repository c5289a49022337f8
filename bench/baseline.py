"""The baseline: the backfill an integrator would write with Xero's official SDK (xero-python), run on the
same books against the same sandbox in the same run, so every product figure stands beside it.

What it does, as the SDK's README and Xero's guides suggest: connect (token exchange, `/connections`), read
the accounts and tax rates once, read every contact in one paged bulk read (1,000 a page) and match customers
by email, then create the missing contacts, the invoices and the payments in batches of 50
(`summarizeErrors=false`). Rate limits the plain way: send until a 429, then sleep its `Retry-After` (which
urllib3 under the SDK already does by itself, for PUT too; the loop here catches what it gives up on). It
shares nothing with the product but the sandbox; the SDK changes only in its base URLs (as
tests/sandbox/sdk_driver.py drives it). xero-python's `Configuration` is process-wide: one app per process,
which is all the benchmark needs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import requests

from bench.calls import sandbox_calls
from bench.cpu import work_cpu_s
from bench.dataset import Books, Spec
from bench.floor import ratio
from bench.xero_api import SCOPES
from ledgerlink.cashflow.models import Invoice as CashFlowInvoice
from ledgerlink.cashflow.models import Payment as CashFlowPayment
from ledgerlink.devtools.sandboxes import RunningSandbox

BATCH = 50
PAGE = 1000
REDIRECT_URI = "http://127.0.0.1/baseline/callback"
T = TypeVar("T")


@dataclass
class BaselineResult:
    invoices: int
    calls: int
    api_calls: int
    rate_limited: int
    wall_s: float
    cpu_s: float
    slept_s: float
    by_endpoint: dict[str, int] = field(default_factory=dict)


def baseline_json(
    product_calls: int, product_wall_s: float, baseline: BaselineResult, client: str
) -> dict[str, Any]:
    """An integrator's run on the same books, and the product against it (wall_vs_baseline <= 0.95 wins);
    the same figures for either ledger's SDK client."""
    return {
        "client": client,
        "invoices": baseline.invoices,
        "calls": baseline.calls,
        "api_calls": baseline.api_calls,
        "rate_limited": baseline.rate_limited,
        "wall_s": baseline.wall_s,
        "slept_s": baseline.slept_s,
        "cpu_s": baseline.cpu_s,
        "by_endpoint": baseline.by_endpoint,
        "wall_vs_baseline": ratio(product_wall_s, baseline.wall_s),
        "calls_vs_baseline": ratio(product_calls, baseline.calls),
    }


def _named(value: Any) -> str:
    """An SDK enum's name ("ACTIVE"), or the plain string it may come as."""
    return str(getattr(value, "value", value))


def batches(items: list[T], size: int = BATCH) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Integrator:
    """One tenant through the SDK, with the integrator's send-until-429 loop around every call."""

    def __init__(self, sandbox: RunningSandbox, tenant_id: str) -> None:
        from xero_python.accounting import AccountingApi
        from xero_python.api_client import ApiClient, Configuration
        from xero_python.api_client.oauth2 import OAuth2Token, TokenApi

        self.sandbox, self.tenant_id = sandbox, tenant_id
        self.rate_limited, self.slept_s, self.identity_calls = 0, 0.0, 0
        self.by_endpoint: dict[str, int] = {}
        app = sandbox.control.create_app([REDIRECT_URI], name="baseline integrator")
        TokenApi.refresh_token_url = sandbox.base_url + "/connect/token"
        self.store: dict[str, Any] = {}
        # The SDK's Configuration is a process-wide template: past the first, it ignores what it is given
        # (real-clients.md, trap 5). A bench drives an app per size, so each one's token is set on its copy.
        configuration = Configuration()
        configuration.oauth2_token = OAuth2Token(client_id=app.client_id, client_secret=app.client_secret)
        self.client = ApiClient(configuration, pool_threads=1)
        self.client.oauth2_token_getter(lambda: self.store["token"])
        self.client.oauth2_token_saver(lambda token: self.store.update(token=token))
        self.app = app
        self.api = AccountingApi(self.client, base_url=sandbox.base_url + "/api.xro/2.0")

    def connect(self) -> None:
        """The authorization-code exchange and `/connections`: what xero-python leaves to the web app."""
        code = self.sandbox.control.consent(
            self.app.client_id, [self.tenant_id], SCOPES, redirect_uri=REDIRECT_URI
        )
        answer = requests.post(
            f"{self.sandbox.base_url}/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=(self.app.client_id, self.app.client_secret),
            timeout=30,
        )
        answer.raise_for_status()
        tokens = answer.json()
        tokens["scope"] = tokens["scope"].split()
        tokens["expires_at"] = time.time() + tokens["expires_in"]
        self.client.set_oauth2_token(tokens)
        from xero_python.identity import IdentityApi

        IdentityApi(self.client, base_url=self.sandbox.base_url).get_connections()
        self.identity_calls = 2

    def call(self, name: str, send: Callable[[], T]) -> T:
        """Send; on a 429 sleep Retry-After and send again (a minute or a day: the plain way)."""
        from xero_python.exceptions import RateLimitException

        while True:
            self.by_endpoint[name] = self.by_endpoint.get(name, 0) + 1
            try:
                return send()
            except RateLimitException as refused:
                self.rate_limited += 1
                wait = float((refused.headers or {}).get("Retry-After") or 1)
                self.slept_s += wait
                time.sleep(wait)

    # --- the backfill -------------------------------------------------------------------------------------

    def codes(self) -> tuple[str, str, str]:
        """(revenue account, bank account, tax type for 10% GST on sales), chosen from the chart."""
        accounts = self.call("GET /Accounts", lambda: self.api.get_accounts(self.tenant_id)).accounts
        rates = self.call("GET /TaxRates", lambda: self.api.get_tax_rates(self.tenant_id)).tax_rates
        active = [a for a in accounts if _named(a.status) == "ACTIVE"]
        revenue = next(a.code for a in active if _named(a.type) == "REVENUE")
        bank = next(a.code for a in active if _named(a.type) == "BANK")
        output = next(
            r.tax_type
            for r in rates
            if r.can_apply_to_revenue and Decimal(str(r.effective_rate)) == Decimal(10)
        )
        return revenue, bank, output

    def contacts_by_email(self) -> dict[str, str]:
        """Every contact, 1,000 a page: email -> ContactID."""
        found: dict[str, str] = {}
        page = 1
        while True:
            answer = self.call(
                "GET /Contacts",
                lambda page=page: self.api.get_contacts(self.tenant_id, page=page, page_size=PAGE),
            )
            for contact in answer.contacts or []:
                if contact.email_address:
                    found.setdefault(contact.email_address.lower(), str(contact.contact_id))
            pagination = answer.pagination
            if pagination is None or pagination.page_count is None or page >= pagination.page_count:
                return found
            page += 1

    def create(self, collection: str, models: list[Any]) -> list[Any]:
        """PUT /Contacts, /Invoices or /Payments in batches of 50 (summarizeErrors=false), each answer
        checked for refused elements."""
        from xero_python import accounting

        wrapper, field = getattr(accounting, collection), collection.lower()
        send = getattr(self.api, f"create_{field}")
        made: list[Any] = []
        for batch in batches(models):
            answered = self.call(
                f"PUT /{collection}",
                lambda batch=batch: getattr(
                    send(
                        self.tenant_id,
                        wrapper(**{field: batch}),
                        summarize_errors=False,
                        idempotency_key=str(uuid.uuid4()),
                    ),
                    field,
                ),
            )
            refused = [e.validation_errors for e in answered if getattr(e, "validation_errors", None)]
            if refused:
                raise RuntimeError(f"{collection}: {len(refused)} refused, first: {refused[0]}")
            made += answered
        return made


def backfill(integrator: Integrator, books: Books) -> None:
    """Contacts, invoices, payments: each in batches of 50."""
    from xero_python.accounting import (
        Account,
        Contact,
        Invoice,
        LineAmountTypes,
        LineItem,
        Payment,
    )

    revenue, bank, output = integrator.codes()
    by_email = integrator.contacts_by_email()
    missing = [c for c in books.customers if c.email.lower() not in by_email]
    created = integrator.create(
        "Contacts",
        [Contact(name=c.name, email_address=c.email) for c in missing],
    )
    by_email.update({str(c.email_address).lower(): str(c.contact_id) for c in created})

    invoices = list(_invoices(books))
    made = integrator.create(
        "Invoices",
        [
            Invoice(
                type="ACCREC",
                contact=Contact(contact_id=by_email[invoice.customer.email.lower()]),
                invoice_number=invoice.number,
                date=invoice.issue_date,
                due_date=invoice.due_date,
                line_amount_types=LineAmountTypes.INCLUSIVE
                if invoice.tax_inclusive
                else LineAmountTypes.EXCLUSIVE,
                status="AUTHORISED",
                line_items=[
                    LineItem(
                        description=line.description,
                        quantity=line.quantity,
                        unit_amount=Decimal(line.unit_amount_e4) / 10_000,
                        account_code=revenue,
                        tax_type=output,
                    )
                    for line in invoice.lines.all()
                ],
            )
            for invoice in invoices
        ],
    )
    ids = {str(i.invoice_number): str(i.invoice_id) for i in made}
    integrator.create(
        "Payments",
        [
            Payment(
                invoice=Invoice(invoice_id=ids[payment.invoice.number]),
                account=Account(code=bank),
                amount=Decimal(payment.amount_minor) / 100,
                date=payment.received_on,
            )
            for payment in _payments(books)
        ],
    )


def _invoices(books: Books) -> Iterable[CashFlowInvoice]:
    rows = CashFlowInvoice.objects.filter(organisation=books.organisation).exclude(number="")
    return rows.select_related("customer").prefetch_related("lines").order_by("issue_date", "number")


def _payments(books: Books) -> Iterable[CashFlowPayment]:
    rows = CashFlowPayment.objects.filter(organisation=books.organisation).select_related("invoice")
    return rows.order_by("received_on", "invoice__number")


def run_baseline(
    sandbox: RunningSandbox, tenant_id: str, marker: int, books: Books, spec: Spec
) -> BaselineResult:
    """The integrator's backfill of `books` into a tenant seeded like the product's, timed from the token
    exchange to the last payment; its calls counted from the sandbox's log."""
    integrator = Integrator(sandbox, tenant_id)
    sandbox.control.open_window(tenant_id, integrator.app.client_id)  # the phase the product starts at
    started, cpu_started = time.perf_counter(), work_cpu_s()
    integrator.connect()
    backfill(integrator, books)
    wall_s, cpu_s = time.perf_counter() - started, work_cpu_s() - cpu_started
    api_calls = sandbox_calls(sandbox.control, tenant_id, marker)
    # Counted from the sandbox's log: urllib3 under the SDK resends a 429 that has a Retry-After by itself
    # (PUT included: real-clients.md, trap 1), so the integrator's own loop sees only those it gave up on.
    refused = sandbox.control.count(tenant_id, since=marker, status=429)
    return BaselineResult(
        invoices=spec.invoices,
        calls=api_calls + integrator.identity_calls,
        api_calls=api_calls,
        rate_limited=refused,
        wall_s=round(wall_s, 3),
        cpu_s=round(cpu_s, 3),
        slept_s=round(integrator.slept_s, 3),
        by_endpoint=dict(sorted(integrator.by_endpoint.items())),
    )
