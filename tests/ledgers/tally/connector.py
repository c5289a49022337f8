"""Tally's connector: its OAuth provider and its `Ledger`, written as a provider package would be, against
the contract only (ledgers/contract.py, errors.py, http.py, oauth.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings

from ledgerlink.ledgers import contract as c
from ledgerlink.ledgers import http
from ledgerlink.ledgers.errors import (
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
)
from ledgerlink.ledgers.oauth import OAuthConfig, revoke_token, token_request

KEY = "tally"
INFO = c.ProviderInfo(key=KEY, display_name="Tally Books")
TRACE = "Tally-Trace"


def _base() -> str:
    return str(settings.TALLY_URL).rstrip("/")


class TallyOAuth:
    key = KEY

    def __init__(self, organisation_id: str = "") -> None:
        self._context = http.CallContext(str(organisation_id), KEY, TRACE)

    @staticmethod
    def config() -> OAuthConfig:
        return OAuthConfig(
            provider=KEY,
            client_id=settings.TALLY_CLIENT_ID,
            client_secret=settings.TALLY_CLIENT_SECRET,
            authorize_url=f"{_base()}/oauth/authorize",
            token_url=f"{_base()}/oauth/token",
            revoke_url=f"{_base()}/oauth/revoke",
            scopes=("books",),
        )

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> c.TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
        }
        return token_request(self.config(), form, self._context)

    def refresh(self, refresh_token: str) -> c.TokenSet:
        return token_request(
            self.config(), {"grant_type": "refresh_token", "refresh_token": refresh_token}, self._context
        )

    def tenants(self, access_token: str, callback: Mapping[str, str] | None = None) -> list[c.Tenant]:
        # Tally lists its books at an endpoint; the callback names none.
        body = _answer(http.send(self._context, "GET", f"{_base()}/v1/links", headers=_bearer(access_token)))
        return [
            c.Tenant(id=link["book"], name=link["title"], connection_id=link["link"])
            for link in body["links"]
        ]

    def disconnect(self, access_token: str, remote_connection_id: str, refresh_token: str) -> None:
        if remote_connection_id:
            url = f"{_base()}/v1/links/{remote_connection_id}"
            exchange = http.send(self._context, "DELETE", url, headers=_bearer(access_token))
            if exchange.status not in (204, 401):
                _answer(exchange)
        if refresh_token:
            revoke_token(self.config(), refresh_token, self._context)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# Tally's problems, by what they mean to the engine.
_TENANT_WAITS = {"slow_down", "book_locked", "down_for_upgrade"}
_CONFIGURATION = {"unknown_account", "account_closed", "unknown_tax"}


def problem_error(status: int, body: Any, trace: str = "") -> LedgerError:
    """A whole-request failure, as a kind. Tally signals by problem type, whatever the status."""
    problem = (body or {}).get("problem", {}) if isinstance(body, dict) else {}
    kind, detail = str(problem.get("type", "")), str(problem.get("detail", ""))
    extra: dict[str, Any] = {"code": kind or f"http_{status}", "correlation_id": trace, "status": status}
    if kind in _TENANT_WAITS:
        return Retry(
            f"Tally Books asked to wait ({kind}).", after_s=float(problem["wait"]), scope="tenant", **extra
        )
    if kind == "token_stale":
        return TokenExpired("Tally Books refused an expired sign-in.", **extra)
    if kind == "grant_gone":
        return Reconnect("Tally Books no longer accepts this connection. Reconnect Tally Books.", **extra)
    if kind == "internal" or status >= 500:
        return Retry("Tally Books failed while saving; it will be checked.", maybe_written=True, **extra)
    return NeedsAttention(f"Tally Books refused the request: {detail or kind}.", **extra)


def item_error(problem: dict[str, Any]) -> LedgerError:
    kind, detail, at = problem["type"], problem.get("detail", ""), problem.get("at", "")
    if kind == "number_taken":
        return Conflict(f"Tally Books already has it: {detail}.", code=kind)
    return NeedsAttention(
        f"Tally Books refused {at or 'it'}: {detail}.", configuration=kind in _CONFIGURATION, code=kind
    )


def _answer(exchange: http.HttpExchange) -> Any:
    body = exchange.json()
    if exchange.status != 200:
        raise problem_error(exchange.status, body, exchange.correlation_id)
    return body


class TallyLedger:
    key: ClassVar[Any] = KEY
    max_batch: ClassVar[int] = 7
    limits: ClassVar[c.RateLimits] = c.RateLimits(per_minute=30, in_flight=2, per_day=1000)
    idempotency_window: ClassVar[dt.timedelta] = dt.timedelta(minutes=10)

    def __init__(self, access_token: str, book_id: str, organisation_id: str) -> None:
        self.access_token, self.book_id = access_token, book_id
        self._context = http.CallContext(organisation_id, KEY, TRACE)

    @classmethod
    def web_url(cls, tenant_id: str, kind: c.ObjectKind, object_id: str) -> str:
        """Tally's sandbox has no app pages: no deep links."""
        return ""

    @classmethod
    def for_connection(cls, connection: Any) -> TallyLedger:
        return cls(connection.access_token, connection.tenant_id, str(connection.organisation_id))

    # --- reads --------------------------------------------------------------------------------------------

    def _get(self, collection: str, **query: str) -> Any:
        url = f"{_base()}/v1/books/{self.book_id}/{collection}"
        return _answer(http.send(self._context, "GET", url, headers=_bearer(self.access_token), params=query))

    def load_chart(self) -> c.Chart:
        accounts = self._get("accounts")["accounts"]
        taxes = self._get("taxes")["taxes"]
        return c.Chart(
            accounts=tuple(
                c.LedgerAccount(
                    id=a["ref"],
                    code=a["code"],
                    name=a["title"],
                    type=a["kind"].upper(),
                    status="ARCHIVED" if a["closed"] else "ACTIVE",
                    is_revenue=a["kind"] == "income",
                    accepts_payments=a["kind"] in ("bank", "clearing"),
                )
                for a in accounts
            ),
            tax_rates=tuple(
                c.LedgerTaxRate(t["code"], t["title"], Decimal(t["percent"]), "ACTIVE", True) for t in taxes
            ),
        )

    def resolve_customers(self, items: Sequence[c.SyncItem]) -> c.CustomerResolution:
        """One read for every email and name; a new customer whose name is taken gets its email after it."""
        customers = [item.document for item in items if isinstance(item.document, c.Customer)]
        emails = ",".join(sorted({customer.email.lower() for customer in customers if customer.email}))
        names = "|".join(sorted({customer.name for customer in customers}))
        existing = self._get("customers", email_in=emails, name_in=names)["customers"]
        taken = {row["name"] for row in existing}
        by_email = {row["email"].lower(): row for row in existing if row["email"]}
        matched, to_create = [], []
        for item in items:
            customer = item.document
            assert isinstance(customer, c.Customer)
            row = by_email.get(customer.email.lower())
            if row is not None:
                matched.append(c.ItemOutcome(item.record_id, c.RemoteRef(c.ObjectKind.CUSTOMER, row["id"])))
                continue
            name = f"{customer.name} ({customer.email})" if customer.name in taken else customer.name
            taken.add(name)
            to_create.append(
                c.SyncItem(item.record_id, item.kind, replace(customer, name=name), item.remote_ids)
            )
        return c.CustomerResolution(tuple(matched), tuple(to_create))

    def find_by_number(self, kind: c.ObjectKind, number: str) -> c.RemoteRef | None:
        collection = {c.ObjectKind.INVOICE: "invoices", c.ObjectKind.CANCELLATION: "credits"}[kind]
        rows = self._get(collection, number=number)[collection]
        return _ref(kind, rows[0]) if rows else None

    def find_existing(self, item: c.SyncItem) -> c.RemoteRef | None:
        document = item.document
        if isinstance(document, c.Customer):
            rows = self._get("customers", our_ref=document.id)["customers"]
            return _ref(item.kind, rows[0]) if rows else None
        if isinstance(document, c.Invoice):
            return self.find_by_number(item.kind, document.number)
        if isinstance(document, c.Payment):
            rows = self._get("payments", our_ref=document.id)["payments"]
            return _ref(item.kind, rows[0]) if rows else None
        if isinstance(document, c.PaymentReversal):
            rows = self._get("payments", our_ref=document.payment.id)["payments"]
            landed = [r for r in rows if Decimal(r["amount"]) == document.remaining]
            return _ref(item.kind, landed[0]) if landed else None
        assert isinstance(document, c.Cancellation)
        if not document.amount_paid:
            rows = self._get("invoices", number=document.invoice.number)["invoices"]
            return _ref(item.kind, rows[0]) if rows and rows[0]["status"] == "void" else None
        return self.find_by_number(item.kind, document.number)

    # --- writes -------------------------------------------------------------------------------------------

    @classmethod
    def create_request(cls, items: tuple[c.SyncItem, ...], mapping: c.ResolvedMapping) -> c.LedgerRequest:
        """One batch of operations; the book is filled in when it is sent."""
        ops = [_operation(item, mapping) for item in items]
        return c.LedgerRequest("POST", "/v1/books/{book}/batch", items, body={"ops": ops})

    def build(self, items: Sequence[c.SyncItem], mapping: c.ResolvedMapping) -> list[c.LedgerRequest]:
        size = self.max_batch
        return [self.create_request(tuple(items[i : i + size]), mapping) for i in range(0, len(items), size)]

    def send(self, request: c.LedgerRequest, key: c.IdempotencyKey) -> c.LedgerResponse:
        headers = {**_bearer(self.access_token), "Request-Id": key, "Content-Type": "application/json"}
        exchange = http.send(
            self._context,
            "POST",
            f"{_base()}{request.path.format(book=self.book_id)}",
            headers=headers,
            content=http.json_bytes(request.body),
        )
        body = exchange.json()
        if exchange.status != 200:
            raise problem_error(exchange.status, body, exchange.correlation_id)
        return c.LedgerResponse(
            exchange.status, body, exchange.headers, exchange.elapsed_ms, exchange.correlation_id
        )

    def read(self, response: c.LedgerResponse, request: c.LedgerRequest) -> list[c.ItemOutcome]:
        kinds = {item.record_id: item.kind for item in request.items}
        outcomes = []
        for result in response.body["results"]:  # type: ignore[index]
            if not result["ok"]:
                outcomes.append(c.ItemOutcome(result["ref"], error=item_error(result["problem"])))
                continue
            outcomes.append(c.ItemOutcome(result["ref"], _ref(kinds[result["ref"]], result)))
        return outcomes


def _ref(kind: c.ObjectKind, row: dict[str, Any]) -> c.RemoteRef:
    total = row.get("total", row.get("amount"))
    return c.RemoteRef(
        kind, row["id"], str(row.get("number", "")), Decimal(total) if total is not None else None
    )


def _operation(item: c.SyncItem, mapping: c.ResolvedMapping) -> dict[str, Any]:
    """One batch operation: Tally edits payments in place and credits an invoice in one step."""
    document, ids = item.document, item.remote_ids
    if isinstance(document, c.Customer):
        data = {"name": document.name, "email": document.email, "our_ref": document.id}
        return {"op": "create_customer", "ref": item.record_id, "data": data}
    if isinstance(document, c.Invoice):
        return {"op": "create_invoice", "ref": item.record_id, "data": _invoice(document, ids, mapping)}
    if isinstance(document, c.Payment):
        account = mapping.payment_account_for(document.method)
        if account is None:
            raise NeedsAttention(f"No payment account for {document.method} payments.", configuration=True)
        data = {
            "invoice": ids["invoice"],
            "account": account.id,
            "amount": document.amount,
            "our_ref": document.id,
        }
        return {"op": "create_payment", "ref": item.record_id, "data": data}
    if isinstance(document, c.PaymentReversal):
        data = {"payment": ids["payment"], "amount": document.remaining}
        return {"op": "adjust_payment", "ref": item.record_id, "data": data}
    assert isinstance(document, c.Cancellation)
    if not document.amount_paid:
        return {"op": "void_invoice", "ref": item.record_id, "data": {"invoice": ids["invoice"]}}
    data = {"invoice": ids["invoice"], "number": document.number, "amount": document.credit_amount}
    return {"op": "credit_invoice", "ref": item.record_id, "data": data}


def _invoice(invoice: c.Invoice, ids: Any, mapping: c.ResolvedMapping) -> dict[str, Any]:
    lines = []
    for line in invoice.lines:
        account, tax = mapping.account_for(line), mapping.tax_rates.get(line.tax_rate_id)
        if account is None or tax is None:
            raise NeedsAttention(f"No account or tax for {line.line_type} lines.", configuration=True)
        net = line.line_amount - line.tax_amount if invoice.tax_inclusive else line.line_amount
        lines.append(
            {"account": account.id, "tax": tax.ledger_tax_code, "net": net, "tax_amount": line.tax_amount}
        )
    return {"number": invoice.number, "customer": ids["contact"], "lines": lines}
