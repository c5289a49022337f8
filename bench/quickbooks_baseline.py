"""The QuickBooks baseline: the backfill an integrator would write with python-quickbooks and intuit-oauth,
run on the same books against the same sandbox in the same run as the product.

What it does, as the SDK's README and Intuit's guides suggest: connect (intuit-oauth's code exchange, its
endpoints read from the discovery document), read the accounts, tax codes and items once, read every
customer in one paged bulk query (1,000 a page) and match customers by email, then create the missing
customers, the invoices and the payments in batches of 30 through the SDK's batch operation (`batch_create`),
each batch's faults checked. Rate limits the plain way: send until a 429 (python-quickbooks raises it as a
`ValidationException` with code 3001), then sleep `Retry-After` when the answer carries one, else the 60 s
Intuit says to wait (a ledger minute: at the sandbox's time scale). python-quickbooks hides the headers, so
the integrator reads `Retry-After` off the requests session with a response hook (real-clients.md, "Hidden
status and headers"). The SDK changes only in its base URLs (as tests/sandbox/test_quickbooks_python.py
drives it); it shares nothing with the product but the sandbox."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from bench.baseline import BaselineResult, _invoices, _payments, batches
from bench.calls import sandbox_calls
from bench.cpu import work_cpu_s
from bench.dataset import Books, Spec
from ledgerlink.devtools.sandboxes import RunningSandbox

BATCH = 30  # python-quickbooks' BatchManager default, and QuickBooks' maximum (quickbooks.md 3)
PAGE = 1000
REDIRECT_URI = "http://127.0.0.1/qbo-baseline/callback"
SCOPE = "com.intuit.quickbooks.accounting"
THROTTLED = 3001  # ThrottleExceeded
INTUIT_THROTTLE_WAIT_S = 60.0  # "wait 60 s" (quickbooks.md 0.6): ledger seconds
T = TypeVar("T")


class Integrator:
    """One company through python-quickbooks, with the integrator's send-until-429 loop around every call."""

    def __init__(self, sandbox: RunningSandbox, realm: str, time_scale: float) -> None:
        self.sandbox, self.realm, self.time_scale = sandbox, realm, time_scale
        self.rate_limited, self.slept_s, self.identity_calls = 0, 0.0, 0
        self.by_endpoint: dict[str, int] = {}
        self.retry_after: str | None = None
        self.app = sandbox.control.create_app([REDIRECT_URI], name="quickbooks baseline integrator")
        self.auth: Any = None
        self.qb: Any = None

    def connect(self) -> None:
        """intuit-oauth's code exchange (the consent page answered by the control API), then the SDK's
        session, its base URL pointed at the sandbox."""
        from intuitlib.client import AuthClient

        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # a plain-http base URL (real-clients.md trap 8)
        discovery = self.sandbox.base_url + "/.well-known/openid_configuration"
        self.auth = AuthClient(self.app.client_id, self.app.client_secret, REDIRECT_URI, discovery)
        control = self.sandbox.control
        code = control.consent(self.app.client_id, [self.realm], SCOPE, redirect_uri=REDIRECT_URI)
        self.auth.get_bearer_token(code, realm_id=self.realm)
        self.identity_calls = 2  # the discovery document and the token exchange
        self._open_session()

    def _open_session(self) -> None:
        """The SDK's client over the tokens held now: python-quickbooks starts its session with the access
        token it is given, so a refreshed token needs a new client."""
        from quickbooks import QuickBooks

        qb = QuickBooks(
            auth_client=self.auth,
            refresh_token=self.auth.refresh_token,
            company_id=self.realm,
            minorversion=75,
            use_decimal=True,
        )
        qb.api_url_v3 = qb.sandbox_api_url_v3 = self.sandbox.base_url + "/v3"
        qb.session.hooks["response"].append(self._heard)
        self.qb = qb

    def refresh(self) -> None:
        """intuit-oauth's refresh (an hour's access token runs out in a long backfill), then a new client."""
        self.auth.refresh()
        self.identity_calls += 1
        self._open_session()

    def _heard(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.retry_after = response.headers.get("Retry-After") if response.status_code == 429 else None

    def call(self, name: str, send: Callable[[], T]) -> T:
        """Send; on a 429 sleep Retry-After (else Intuit's 60 s) and send again; on a 401 refresh the tokens
        once and send again."""
        from quickbooks.exceptions import AuthorizationException, QuickbooksException

        refreshed = False
        while True:
            self.by_endpoint[name] = self.by_endpoint.get(name, 0) + 1
            try:
                return send()
            except AuthorizationException:
                if refreshed:
                    raise
                self.refresh()
                refreshed = True
            except QuickbooksException as refused:
                if refused.error_code != THROTTLED:
                    raise
                self.rate_limited += 1
                wait = float(self.retry_after or INTUIT_THROTTLE_WAIT_S / self.time_scale)
                self.slept_s += wait
                time.sleep(wait)

    # --- the backfill -------------------------------------------------------------------------------------

    def codes(self) -> tuple[str, str, str]:
        """(item for the lines, GST code, bank account to deposit in), from the company's lists."""
        from quickbooks.objects.account import Account
        from quickbooks.objects.item import Item
        from quickbooks.objects.taxcode import TaxCode

        accounts = self.call("query Account", lambda: Account.all(max_results=PAGE, qb=self.qb))
        codes = self.call("query TaxCode", lambda: TaxCode.all(max_results=PAGE, qb=self.qb))
        items = self.call("query Item", lambda: Item.all(max_results=PAGE, qb=self.qb))
        bank = next(a.Id for a in accounts if a.AccountType == "Bank" and a.Active)
        gst = next(c.Id for c in codes if c.Name == "GST" and c.Active)
        item = next(i.Id for i in items if i.Type == "Service" and i.Active)
        return str(item), str(gst), str(bank)

    def customers_by_email(self) -> dict[str, str]:
        """Every customer, 1,000 a page: email -> Id."""
        from quickbooks.objects.customer import Customer

        found: dict[str, str] = {}
        start = 1
        while True:
            page = self.call(
                "query Customer",
                lambda start=start: Customer.all(start_position=start, max_results=PAGE, qb=self.qb),
            )
            for customer in page:
                email = getattr(customer.PrimaryEmailAddr, "Address", "") if customer.PrimaryEmailAddr else ""
                if email:
                    found.setdefault(email.lower(), str(customer.Id))
            if len(page) < PAGE:
                return found
            start += PAGE

    def create(self, entity: str, objects: list[Any]) -> list[Any]:
        """Batches of 30 through `batch_create`, each answer checked for faults."""
        from quickbooks.batch import batch_create

        made: list[Any] = []
        for batch in batches(objects, BATCH):
            answered = self.call(f"batch {entity}", lambda batch=batch: batch_create(batch, qb=self.qb))
            if answered.faults:
                first = answered.faults[0].Error[0]
                raise RuntimeError(f"{entity}: {len(answered.faults)} refused, first: {first.Message}")
            made += answered.successes
        return made


def backfill(integrator: Integrator, books: Books) -> None:
    """Customers, invoices, payments: each in batches of 30."""
    from quickbooks.objects.base import EmailAddress, Ref
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice
    from quickbooks.objects.payment import Payment, PaymentLine

    def ref(value: str) -> Any:
        made = Ref()
        made.value = value
        return made

    item, gst, bank = integrator.codes()
    by_email = integrator.customers_by_email()
    missing = []
    for customer in books.customers:
        if customer.email.lower() not in by_email:
            made = Customer()
            made.DisplayName = customer.name
            made.PrimaryEmailAddr = EmailAddress()
            made.PrimaryEmailAddr.Address = customer.email
            missing.append(made)
    for created in integrator.create("Customer", missing):
        by_email[created.PrimaryEmailAddr.Address.lower()] = str(created.Id)

    def invoice(source: Any) -> Invoice:
        made = Invoice()
        made.CustomerRef = ref(by_email[source.customer.email.lower()])
        made.DocNumber = source.number
        made.TxnDate = source.issue_date.isoformat()
        made.DueDate = source.due_date.isoformat()
        made.GlobalTaxCalculation = "TaxInclusive" if source.tax_inclusive else "TaxExcluded"
        for line in source.lines.all():
            unit = Decimal(line.unit_amount_e4) / 10_000
            sales = SalesItemLine()
            sales.Description = line.description
            sales.Amount = (unit * line.quantity).quantize(Decimal("0.01"))
            sales.SalesItemLineDetail = SalesItemLineDetail()
            sales.SalesItemLineDetail.ItemRef = ref(item)
            sales.SalesItemLineDetail.Qty = line.quantity
            sales.SalesItemLineDetail.UnitPrice = unit
            sales.SalesItemLineDetail.TaxCodeRef = ref(gst)
            made.Line.append(sales)
        return made

    made = integrator.create("Invoice", [invoice(source) for source in _invoices(books)])
    by_number = {str(i.DocNumber): i for i in made}
    payments = []
    for source in _payments(books):
        paid = by_number[source.invoice.number]
        payment = Payment()
        payment.CustomerRef = paid.CustomerRef
        payment.TotalAmt = Decimal(source.amount_minor) / 100
        payment.TxnDate = source.received_on.isoformat()
        payment.DepositToAccountRef = ref(bank)
        line = PaymentLine()
        line.Amount = payment.TotalAmt
        line.LinkedTxn.append(paid.to_linked_txn())
        payment.Line.append(line)
        payments.append(payment)
    integrator.create("Payment", payments)


def run_quickbooks_baseline(
    sandbox: RunningSandbox, realm: str, marker: int, books: Books, spec: Spec, time_scale: float
) -> BaselineResult:
    """The integrator's backfill of `books` into a company seeded like the product's, timed from the token
    exchange to the last payment; its calls and 429s counted from the sandbox's log."""
    integrator = Integrator(sandbox, realm, time_scale)
    sandbox.control.open_window(realm, integrator.app.client_id)  # the phase the product starts at
    started, cpu_started = time.perf_counter(), work_cpu_s()
    integrator.connect()
    backfill(integrator, books)
    wall_s, cpu_s = time.perf_counter() - started, work_cpu_s() - cpu_started
    api_calls = sandbox_calls(sandbox.control, realm, marker)
    return BaselineResult(
        invoices=spec.invoices,
        calls=api_calls + integrator.identity_calls,
        api_calls=api_calls,
        rate_limited=sandbox.control.count(realm, since=marker, status=429),
        wall_s=round(wall_s, 3),
        cpu_s=round(cpu_s, 3),
        slept_s=round(integrator.slept_s, 3),
        by_endpoint=dict(sorted(integrator.by_endpoint.items())),
    )
