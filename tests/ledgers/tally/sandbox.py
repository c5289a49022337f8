"""Tally's sandbox: a small in-process HTTP server over a loopback port, with OAuth (code + PKCE, rotating
refresh tokens, revocation, per-grant book links), books with a chart, customers, invoices, payments and
credits, a `batch` endpoint of up to 7 operations answered per operation, request-id replay for ten
minutes, and one-shot fault injection. Its wire is deliberately unlike Xero's."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_OPS = 7
REPLAY_S = 600.0
ACCESS_S = 900
FAULT_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limit": (503, {"problem": {"type": "slow_down", "wait": 20}}),
    "offline": (423, {"problem": {"type": "book_locked", "wait": 45}}),
    "maintenance": (502, {"problem": {"type": "down_for_upgrade", "wait": 90}}),
    "server_error": (500, {"problem": {"type": "internal"}}),
    "token_expired": (401, {"problem": {"type": "token_stale"}}),
    "token_revoked": (401, {"problem": {"type": "grant_gone"}}),
}


class Refused(Exception):
    def __init__(self, problem: str, detail: str, status: int = 422, at: str = "") -> None:
        super().__init__(detail)
        self.status, self.body = status, {"problem": {"type": problem, "detail": detail, "at": at}}


@dataclass
class Book:
    id: str
    name: str
    accounts: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    credits: dict[str, dict[str, Any]] = field(default_factory=dict)


def seeded_book(book_id: str, name: str) -> Book:
    return Book(
        book_id,
        name,
        accounts=[
            {"ref": "a-sales", "code": "4000", "title": "Sales", "kind": "income", "closed": False},
            {"ref": "a-old", "code": "4900", "title": "Old sales", "kind": "income", "closed": True},
            {"ref": "a-bank", "code": "1000", "title": "Operating bank", "kind": "bank", "closed": False},
            {"ref": "a-card", "code": "1200", "title": "Card clearing", "kind": "clearing", "closed": False},
        ],
        taxes=[{"code": "G10", "title": "GST 10%", "percent": "10"}],
    )


class TallyState:
    """Everything the server holds; one lock, since requests arrive on many threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.apps: dict[str, dict[str, Any]] = {}
        self.books: dict[str, Book] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, dict[str, Any]] = {}  # grant id -> client, books (link id -> book id), live
        self.access: dict[str, tuple[str, float]] = {}  # token -> (grant id, expires at)
        self.refresh: dict[str, str] = {}  # current refresh token -> grant id
        self.replays: dict[tuple[str, str], tuple[float, int, bytes]] = {}
        self.faults: list[dict[str, str]] = []
        self.calls: list[tuple[str, str, str]] = []  # (book, method, path)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids)}"

    # --- control (called directly by the harness) ---------------------------------------------------------

    def create_app(self, redirect_uris: list[str]) -> tuple[str, str]:
        client_id, secret = self.new_id("app-"), secrets.token_urlsafe(16)
        self.apps[client_id] = {"secret": secret, "redirects": redirect_uris}
        return client_id, secret

    def create_book(self, name: str) -> str:
        book_id = self.new_id("book-")
        self.books[book_id] = seeded_book(book_id, name)
        return book_id

    def consent(
        self, client_id: str, book_ids: list[str], scope: str, redirect_uri: str, state: str, challenge: str
    ) -> str:
        assert redirect_uri in self.apps[client_id]["redirects"] and scope and state
        code = secrets.token_urlsafe(12)
        self.codes[code] = {
            "client": client_id,
            "books": book_ids,
            "challenge": challenge,
            "uri": redirect_uri,
        }
        return code

    def count(self, book_id: str, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for b, m, p in self.calls
            if b == book_id and (method is None or m == method) and (path is None or p.endswith(path))
        )

    def revoke_client(self, client_id: str) -> None:
        with self.lock:
            for grant in self.grants.values():
                if grant["client"] == client_id:
                    grant["live"] = False

    # --- OAuth --------------------------------------------------------------------------------------------

    def token(self, client_id: str, secret: str, form: dict[str, str]) -> dict[str, Any]:
        app = self.apps.get(client_id)
        if app is None or app["secret"] != secret:
            raise Refused("invalid_client", "unknown app", 401)
        if form.get("grant_type") == "authorization_code":
            found = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "").encode()
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if found is None or found["client"] != client_id or found["challenge"] != challenge:
                raise _grant_error()
            grant_id = self.new_id("grant-")
            links = {self.new_id("link-"): book for book in found["books"]}
            self.grants[grant_id] = {"client": client_id, "books": links, "live": True}
        elif form.get("grant_type") == "refresh_token":
            grant_id = self.refresh.pop(form.get("refresh_token", ""), "")
            if not grant_id or not self.grants[grant_id]["live"]:
                raise _grant_error()
        else:
            raise Refused("unsupported_grant_type", "unsupported grant type", 400)
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access[access] = (grant_id, time.monotonic() + ACCESS_S)
        self.refresh[refresh] = grant_id
        return {"access_token": access, "refresh_token": refresh, "expires_in": ACCESS_S, "scope": "books"}

    def revoke(self, token: str) -> None:
        grant_id = self.refresh.get(token) or self.access.get(token, ("", 0.0))[0]
        if grant_id:
            self.grants[grant_id]["live"] = False

    def grant_for(self, bearer: str) -> dict[str, Any]:
        grant_id, expires = self.access.get(bearer, ("", 0.0))
        grant = self.grants.get(grant_id)
        if grant is None or not grant["live"]:
            raise Refused("grant_gone", "this grant was revoked", 401)
        if expires < time.monotonic():
            raise Refused("token_stale", "the access token expired", 401)
        return grant


def _grant_error() -> Refused:
    refused = Refused("invalid_grant", "", 400)
    refused.body = {"error": "invalid_grant"}  # the token endpoint answers as RFC 6749 says
    return refused


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


class Ledger:
    """The accounting rules of one book: what a write may do."""

    def __init__(self, book: Book, state: TallyState) -> None:
        self.book, self.state = book, state

    def account(self, ref: str, kinds: tuple[str, ...], at: str) -> dict[str, Any]:
        found = next((a for a in self.book.accounts if a["ref"] == ref), None)
        if found is None or found["kind"] not in kinds:
            raise Refused("unknown_account", f"no {'/'.join(kinds)} account {ref}", at=at)
        if found["closed"]:
            raise Refused("account_closed", f"account {found['code']} is closed to postings", at=at)
        return found

    def due(self, invoice: dict[str, Any]) -> Decimal:
        paid = sum(
            (p["amount"] for p in self.book.payments.values() if p["invoice"] == invoice["id"]), Decimal(0)
        )
        credited = sum(
            (c["amount"] for c in self.book.credits.values() if c["invoice"] == invoice["id"]), Decimal(0)
        )
        return invoice["total"] - paid - credited

    def run(self, op: str, data: dict[str, Any]) -> dict[str, Any]:
        return getattr(self, op)(data)

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        if any(c["name"] == data["name"] for c in self.book.customers.values()):
            raise Refused("name_taken", f"a customer is already called {data['name']}", at="name")
        customer = {
            "id": self.state.new_id("c-"),
            "name": data["name"],
            "email": data.get("email", ""),
            "our_ref": data.get("our_ref", ""),
        }
        self.book.customers[customer["id"]] = customer
        return {"id": customer["id"], "number": customer["our_ref"]}

    def create_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["customer"] not in self.book.customers:
            raise Refused("unknown_customer", "no such customer", at="customer")
        if any(i["number"] == data["number"] for i in self.book.invoices.values()):
            raise Refused("number_taken", f"invoice {data['number']} exists", status=409, at="number")
        total = tax = Decimal(0)
        for n, line in enumerate(data["lines"]):
            self.account(line["account"], ("income",), f"lines[{n}].account")
            if line["tax"] not in {t["code"] for t in self.book.taxes}:
                raise Refused("unknown_tax", f"no tax {line['tax']}", at=f"lines[{n}].tax")
            total += _money(line["net"]) + _money(line["tax_amount"])
            tax += _money(line["tax_amount"])
        invoice = {
            "id": self.state.new_id("i-"),
            "number": data["number"],
            "total": total,
            "tax": tax,
            "status": "open",
        }
        self.book.invoices[invoice["id"]] = invoice
        return {"id": invoice["id"], "number": invoice["number"], "total": str(total)}

    def create_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice = self.book.invoices.get(data["invoice"])
        if invoice is None or invoice["status"] != "open":
            raise Refused("invoice_closed", "the invoice takes no payments", at="invoice")
        self.account(data["account"], ("bank", "clearing"), "account")
        amount = _money(data["amount"])
        if amount > self.due(invoice):
            raise Refused("overpaid", f"{amount} is more than the {self.due(invoice)} due", at="amount")
        payment = {
            "id": self.state.new_id("p-"),
            "invoice": invoice["id"],
            "amount": amount,
            "our_ref": data["our_ref"],
        }
        self.book.payments[payment["id"]] = payment
        return {"id": payment["id"], "total": str(amount)}

    def adjust_payment(self, data: dict[str, Any]) -> dict[str, Any]:
        payment = self.book.payments.get(data["payment"])
        amount = _money(data["amount"])
        if payment is None or amount > payment["amount"]:
            raise Refused("bad_adjustment", "a payment can only be reduced", at="amount")
        payment["amount"] = amount
        return {"id": payment["id"], "total": str(amount)}

    def void_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice = self.book.invoices.get(data["invoice"])
        if invoice is None or self.due(invoice) != invoice["total"]:
            raise Refused("not_voidable", "only an untouched invoice can be voided", at="invoice")
        invoice["status"] = "void"
        return {"id": invoice["id"], "number": invoice["number"]}

    def credit_invoice(self, data: dict[str, Any]) -> dict[str, Any]:
        invoice = self.book.invoices.get(data["invoice"])
        amount = _money(data["amount"])
        if invoice is None or amount > self.due(invoice):
            raise Refused("overcredited", "the credit is more than what is due", at="amount")
        credit = {
            "id": self.state.new_id("cr-"),
            "invoice": invoice["id"],
            "number": data["number"],
            "amount": amount,
        }
        self.book.credits[credit["id"]] = credit
        return {"id": credit["id"], "number": credit["number"], "total": str(amount)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with state.lock:
            try:
                status, body = self._route(state, method, url.path, parse_qs(url.query), raw)
            except Refused as refused:
                status, body = refused.status, refused.body
            except _Drop:
                self.close_connection = True  # no answer at all: the client cannot tell what happened
                return
        self._reply(status, body)

    def _reply(self, status: int, body: Any) -> None:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Tally-Trace", secrets.token_hex(6))
        self.end_headers()
        self.wfile.write(content)

    def _route(self, state: TallyState, method: str, path: str, query: dict[str, list[str]], raw: bytes):
        if path == "/oauth/token":
            client_id, secret = _basic(self.headers.get("Authorization", ""))
            return 200, state.token(client_id, secret, _form(raw))
        if path == "/oauth/revoke":
            state.revoke(_form(raw).get("token", ""))
            return 200, {}
        grant = state.grant_for(self.headers.get("Authorization", "").removeprefix("Bearer "))
        if path == "/v1/links" and method == "GET":
            links = [{"link": k, "book": b, "title": state.books[b].name} for k, b in grant["books"].items()]
            return 200, {"links": links}
        if path.startswith("/v1/links/") and method == "DELETE":
            grant["books"].pop(path.rsplit("/", 1)[1], None)
            return 204, b""
        parts = path.strip("/").split("/")  # v1 books {id} {collection}
        if len(parts) != 4 or parts[:2] != ["v1", "books"] or parts[2] not in grant["books"].values():
            raise Refused("not_found", "no such resource", 404)
        book = state.books[parts[2]]
        state.calls.append((book.id, method, path))
        fault = next((f for f in state.faults if f["book"] == book.id and path.endswith(f["path"])), None)
        if fault is not None:
            state.faults.remove(fault)
            if fault["kind"] == "drop":
                raise _Drop()
            if fault["kind"] != "drop_after_commit":
                return FAULT_ANSWERS[fault["kind"]]
        if method == "GET":
            return 200, _list(book, parts[3], {k: v[0] for k, v in query.items()})
        if parts[3] != "batch" or method != "POST":
            raise Refused("not_found", "no such resource", 404)
        key = (book.id, self.headers.get("Request-Id", ""))
        if not key[1]:
            raise Refused("request_id_required", "every write carries a Request-Id", 400)
        cached = state.replays.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        status, body = _batch(Ledger(book, state), json.loads(raw))
        encoded = json.dumps(body).encode()
        state.replays[key] = (time.monotonic() + REPLAY_S, status, encoded)
        if fault is not None:  # drop_after_commit: saved, then the connection closes
            raise _Drop()
        return status, encoded


class _Drop(Exception):
    """Close the connection without answering."""


def _batch(ledger: Ledger, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    ops = body.get("ops") or []
    if len(ops) > MAX_OPS:
        raise Refused("too_many_ops", f"at most {MAX_OPS} operations", 413)
    results = []
    for op in ops:
        try:
            results.append({"ref": op["ref"], "ok": True, **ledger.run(op["op"], op["data"])})
        except Refused as refused:
            results.append({"ref": op["ref"], "ok": False, **refused.body})
    return 200, {"results": results}


def _list(book: Book, collection: str, query: dict[str, str]) -> dict[str, Any]:
    if collection == "accounts":
        return {"accounts": book.accounts}
    if collection == "taxes":
        return {"taxes": book.taxes}
    rows: list[dict[str, Any]] = list(getattr(book, collection, {}).values())
    # One read answers "any of these emails or names" (a customer match is one call).
    emails = {e.lower() for e in query.pop("email_in", "").split(",") if e}
    names = {n for n in query.pop("name_in", "").split("|") if n}
    if emails or names:
        rows = [r for r in rows if r.get("email", "").lower() in emails or r.get("name") in names]
    for name, value in query.items():
        rows = [r for r in rows if str(r.get(name)) == value]
    return {collection: [{k: str(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]}


def _basic(header: str) -> tuple[str, str]:
    try:
        client_id, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        return "", ""
    return client_id, secret


def _form(raw: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw.decode()).items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: TallyState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class TallySandbox:
    """The running server: `base_url` and `state` (the harness's control)."""

    def __init__(self) -> None:
        self.state = TallyState()
        self._server = _Server(self.state)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
