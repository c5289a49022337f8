"""The Accounting API under ``/api.xro/2.0`` (xero.md §3): routing, scope families, list reads (where,
order, If-Modified-Since, paging), batch writes with and without ``summarizeErrors``, and the Xero
provider's hooks for the control plane. Identity lives in ``identity.py``; the gates every call passes
(token, tenant, limits, faults, idempotency) in ``control/gateway.py``."""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..control.apppages import row_id, to_ledger_page
from ..control.gateway import Gateway
from ..control.grants import Access, OAuthPolicy
from ..control.limiter import DAY, Budget, Scope
from ..control.state import new_id
from . import faults as xf
from . import keys, seed
from .identity import XeroIdentity
from .ledger import CENT, DOC, ROUNDING_MODES, Books, Outcome
from .settlements import Settlements
from .taxrates import TaxRates
from .where import WhereError, compile_where
from .wire import BodyError, csv_param, elements, envelope, parse_bool, parse_json, render

if TYPE_CHECKING:
    from ..control.plane import ControlPlane

API_PREFIX = "/api.xro/2.0"
IDENTITY_SCOPES = {"openid", "profile", "email", "offline_access"}
BROAD_SCOPES = {"accounting.transactions", "accounting.transactions.read"}
GRANULAR_SCOPES = {
    f"accounting.{name}{suffix}"
    for name in ("invoices", "payments", "banktransactions", "manualjournals", "classicexpenses")
    for suffix in ("", ".read")
}
OTHER_SCOPES = {
    f"accounting.{name}{suffix}"
    for name in ("contacts", "settings", "attachments")
    for suffix in ("", ".read")
} | {"accounting.journals.read", "accounting.reports.read", "accounting.budgets.read", "paymentservices"}
KNOWN_SCOPES = IDENTITY_SCOPES | BROAD_SCOPES | GRANULAR_SCOPES | OTHER_SCOPES
# Which scopes let a call read or write a resource family (xero.md §1 "Scopes"; granular mapping per apideck).
SCOPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "settings": ("accounting.settings",),
    "contacts": ("accounting.contacts",),
    "invoices": ("accounting.invoices", "accounting.transactions"),
    "payments": ("accounting.payments", "accounting.transactions"),
    "items": ("accounting.settings", "accounting.invoices", "accounting.transactions"),
}
PAGED_DEFAULT, PAGED_MAX = 100, 1000
# Developer tiers since 2026-03-02 (xero.md §5): max connected organisations, day budget per organisation.
# "" is the default for apps created without a tier: Core-like, so tests and the demo are not capped at 5.
TIERS: dict[str, tuple[int | None, int | None]] = {
    "": (50, None),
    "starter": (5, 1_000),
    "core": (50, None),
    "plus": (1_000, None),
    "advanced": (10_000, None),
    "enterprise": (None, None),
}
UNCERTIFIED_APPS_PER_ORG = 2
# Checked in this order; the problem names are the X-Rate-Limit-Problem values (xero.md §5).
BUDGETS = (
    Budget("per_day", "day", Scope.APP_TENANT, DAY),
    Budget("per_minute", "minute", Scope.APP_TENANT),
    Budget("app_per_minute", "appminute", Scope.APP, retry_after=False),
    Budget("in_flight", "concurrent", Scope.APP_TENANT, None, retry_after=False),
)
DEFAULT_LIMITS = {"in_flight": 5, "per_minute": 60, "per_day": 5_000, "app_per_minute": 10_000}


def _modified_since(header: str | None) -> float | None:
    """``If-Modified-Since`` as an HTTP date or ISO-8601 (xero-python sends ``datetime.isoformat()``; a naive
    time is UTC), at second precision; an unreadable value filters nothing."""
    if not header:
        return None
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(header.strip())
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(int(moment.timestamp()))


def _scope_allows(scopes: frozenset[str], family: str, write: bool) -> bool:
    return any(base in scopes or (not write and f"{base}.read" in scopes) for base in SCOPE_FAMILIES[family])


# Xero's app pages a connector links to (go.xero.com), matched lower-cased.
APP_PAGES = ("/accountsreceivable/view.aspx",)
CONTACT_PAGE = "/contacts/view/"


class XeroProvider:
    """The Xero side of a sandbox: its OAuth policy, seed data, routes and views."""

    name = "xero"
    regions: tuple[str, ...] = seed.REGIONS
    budgets: tuple[Budget, ...] = BUDGETS
    default_limits: dict[str, int] = DEFAULT_LIMITS
    idempotency_retention_s = 360.0  # xero.md §4: keys live about six minutes

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.policy = OAuthPolicy(issuer="https://identity.xero.com")
        self.gateway = Gateway(plane, xf.XeroRenderer())
        self.identity = XeroIdentity(plane, self.gateway, self)
        read, write = ["GET"], ["PUT", "POST"]
        self.accounting = Map(
            [
                Rule("/organisation", endpoint=("organisation", "settings"), methods=read),
                Rule("/currencies", endpoint=("currencies", "settings"), methods=["GET", "PUT"]),
                Rule("/accounts", endpoint=("accounts", "settings"), methods=read),
                Rule("/accounts/<key>", endpoint=("account", "settings"), methods=read),
                Rule("/taxrates", endpoint=("tax_rates", "settings"), methods=read + write),
                Rule("/taxrates/<key>", endpoint=("tax_rate", "settings"), methods=read),
                Rule("/trackingcategories", endpoint=("tracking", "settings"), methods=read),
                Rule("/items", endpoint=("items", "items"), methods=read + write),
                Rule("/items/<key>", endpoint=("item", "items"), methods=[*read, "POST"]),
                Rule("/contacts", endpoint=("contacts", "contacts"), methods=read + write),
                Rule("/contacts/<key>", endpoint=("contact", "contacts"), methods=[*read, "POST"]),
                Rule("/invoices", endpoint=("invoices", "invoices"), methods=read + write),
                Rule("/invoices/<key>", endpoint=("invoice", "invoices"), methods=[*read, "POST"]),
                Rule("/creditnotes", endpoint=("credit_notes", "invoices"), methods=read + write),
                Rule("/creditnotes/<key>", endpoint=("credit_note", "invoices"), methods=[*read, "POST"]),
                Rule("/creditnotes/<key>/allocations", endpoint=("allocate", "invoices"), methods=["PUT"]),
                Rule(
                    "/creditnotes/<key>/allocations/<allocation_id>",
                    endpoint=("unallocate", "invoices"),
                    methods=["DELETE"],
                ),
                Rule("/payments", endpoint=("payments", "payments"), methods=read + write),
                Rule("/payments/<key>", endpoint=("payment", "payments"), methods=[*read, "POST"]),
            ],
            strict_slashes=False,
        )
        self.operations: dict[str, Callable[..., Response]] = {
            "organisation": self.get_organisation,
            "currencies": self.currencies,
            "accounts": self.get_accounts,
            "account": self.get_account,
            "tax_rates": self.tax_rates,
            "tax_rate": self.get_tax_rate,
            "tracking": self.get_tracking,
            "items": self.items,
            "item": self.item,
            "contacts": self.contacts,
            "contact": self.contact,
            "invoices": self.invoices,
            "invoice": self.invoice,
            "credit_notes": self.credit_notes,
            "credit_note": self.credit_note,
            "allocate": self.allocate,
            "unallocate": self.unallocate,
            "payments": self.payments,
            "payment": self.payment,
        }

    # -- provider hooks ---------------------------------------------------------------------------------
    def new_ledger(self, region: str, name: str, tenant_id: str, now: float) -> dict[str, Any]:
        return seed.new_ledger(region, name, tenant_id, now)

    def new_tenant_id(self) -> str:
        return new_id()

    def redirect_params(self, scope: str, tenant_ids: list[str]) -> dict[str, str]:
        return {"scope": " ".join(scope.split())}

    def scope_error(self, app: dict[str, Any], scope: str) -> str | None:
        """``invalid_scope`` for unknown scopes, or broad ones on an app created after 2026-03-02."""
        scopes = set(scope.split())
        if not scopes or scopes - KNOWN_SCOPES:
            return "invalid_scope"
        if app.get("granular_only") and scopes & BROAD_SCOPES:
            return "invalid_scope"
        return None

    def tier_limits(self, tier: str) -> dict[str, int]:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(sorted(t for t in TIERS if t))}")
        day_cap = TIERS[tier][1]
        return {} if day_cap is None else {"per_day": day_cap}

    def consent_error(self, app: dict[str, Any], tenant_ids: list[str]) -> str | None:
        """The tier's connection cap and the two-uncertified-apps-per-organisation rule (xero.md §5)."""
        cap = TIERS[app.get("tier", "")][0]
        tenants = self.plane.grants.connected_tenants(app["client_id"]) | set(tenant_ids)
        if cap is not None and len(tenants) > cap:
            return f"This app has reached its limit of {cap} connected organisations."
        if app.get("certified", True):
            return None
        for tenant_id in tenant_ids:
            others = self.plane.grants.connected_apps(tenant_id) - {app["client_id"]}
            uncertified = [a for a in others if not self.plane.store.apps.get(a, {}).get("certified", True)]
            if len(uncertified) >= UNCERTIFIED_APPS_PER_ORG:
                return "This organisation is already connected to two uncertified apps."
        return None

    def settings_error(self, settings: dict[str, Any]) -> str | None:
        """Xero tenant settings: tax_rounding, allow_reconciled_delete, lock_date (YYYY-MM-DD or null),
        currencies (codes added in Xero's Settings > Currencies, beside the base currency)."""
        unknown = set(settings) - {"tax_rounding", "allow_reconciled_delete", "lock_date", "currencies"}
        if unknown:
            return f"unknown settings {sorted(unknown)}"
        if settings.get("tax_rounding", "ROUND_HALF_EVEN") not in ROUNDING_MODES:
            return f"tax_rounding must be one of {sorted(ROUNDING_MODES)}"
        if not isinstance(settings.get("allow_reconciled_delete", False), bool):
            return "allow_reconciled_delete must be true or false"
        currencies = settings.get("currencies", [])
        if not isinstance(currencies, list) or not all(
            isinstance(c, str) and len(c) == 3 and c.isalpha() for c in currencies
        ):
            return "currencies must be a list of three-letter codes"
        lock_date = settings.get("lock_date")
        try:
            if lock_date is not None:
                date.fromisoformat(lock_date)
        except (TypeError, ValueError):
            return "lock_date must be YYYY-MM-DD or null"
        return None

    def apply_settings(self, ledger: dict[str, Any]) -> None:
        """Xero's settings are read where they apply; none changes a record."""

    def ledger_view(self, tenant: dict[str, Any]) -> dict[str, Any]:
        """A tenant's books as Xero would return them, for test assertions."""
        ledger = tenant["ledger"]
        books = Books(ledger, self.plane.clock.now())
        return {
            "tenant_id": tenant["tenant_id"],
            "region": tenant["region"],
            "name": tenant["name"],
            "Contacts": render(list(ledger["contacts"].values())),
            "Invoices": render([self._invoice_view(ledger, d) for d in ledger["invoices"].values()]),
            "Payments": render([Settlements(books).payment_view(p) for p in ledger["payments"].values()]),
            "CreditNotes": render(list(ledger["credit_notes"].values())),
            "Items": render(ledger["items"]),
        }

    def tenant_page(self, tenant: dict[str, Any]) -> str:
        ledger = tenant["ledger"]
        esc = html.escape
        rows = "".join(
            f"<tr id='{esc(row_id(d['InvoiceID']))}'>"
            f"<td>{esc(d.get('InvoiceNumber', ''))}</td><td>{esc(d['Type'])}</td>"
            f"<td>{esc(d.get('Contact', {}).get('Name', ''))}</td><td>{d['Date']}</td><td>{d['Status']}</td>"
            f"<td class=n>{d['Total']:.2f}</td><td class=n>{d['AmountPaid']:.2f}</td>"
            f"<td class=n>{d['AmountDue']:.2f}</td></tr>"
            for d in ledger["invoices"].values()
        )
        payments = "".join(
            f"<tr><td>{p['Date']}</td><td>{esc(p.get('Reference', ''))}</td><td>{p['Status']}</td>"
            f"<td class=n>{p['Amount']:.2f}</td></tr>"
            for p in ledger["payments"].values()
        )
        notes = "".join(
            f"<tr><td>{esc(c.get('CreditNoteNumber', ''))}</td><td>{c['Status']}</td>"
            f"<td class=n>{c['Total']:.2f}</td><td class=n>{c['RemainingCredit']:.2f}</td></tr>"
            for c in ledger["credit_notes"].values()
        )
        style = (
            "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b2733}table{border-collapse:collapse;"
            "margin-bottom:2rem}td,th{border-bottom:1px solid #e0e6ea;padding:.3rem .8rem;text-align:left}"
            ".n{text-align:right;font-variant-numeric:tabular-nums}"
        )
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
            f"<title>{esc(tenant['name'])}</title><style>{style}</style></head><body>"
            f"<h1>{esc(tenant['name'])} <small>({tenant['region']}, Xero sandbox)</small></h1>"
            f"<p>{len(ledger['contacts'])} contacts</p><h2>Invoices</h2><table><tr><th>Number</th>"
            "<th>Type</th><th>Contact</th><th>Date</th><th>Status</th><th>Total</th><th>Paid</th><th>Due</th>"
            f"</tr>{rows}</table><h2>Payments</h2><table><tr><th>Date</th><th>Reference</th><th>Status</th>"
            f"<th>Amount</th></tr>{payments}</table><h2>Credit notes</h2><table><tr><th>Number</th>"
            "<th>Status</th><th>Total</th>"
            f"<th>Remaining</th></tr>{notes}</table></body></html>"
        )

    # -- dispatch ---------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.lower()
        if path == API_PREFIX.lower() or path.startswith(API_PREFIX.lower() + "/"):
            tenant_id = request.headers.get("xero-tenant-id", "").strip().lower() or None
            response = self.gateway.serve(request, tenant_id, self._operate, self._precheck)
            # Xero's trace id for a call, on every API answer: what its support asks for.
            response.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
            return response
        if path in APP_PAGES or path.startswith(CONTACT_PAGE):
            return self._app_page(request, path)
        return self.identity.handle(request)

    def _app_page(self, request: Request, path: str) -> Response:
        """go.xero.com's invoice and contact pages: Xero ids are unique, so the id finds its organisation."""
        store, object_id = (
            ("invoices", request.args.get("InvoiceID", ""))
            if path in APP_PAGES
            else ("contacts", request.path[len(CONTACT_PAGE) :])
        )
        with self.plane.store.lock:
            tenant_id = next(
                (
                    t["tenant_id"]
                    for t in self.plane.store.tenants.values()
                    if object_id in t["ledger"][store]
                ),
                None,
            )
        return to_ledger_page(tenant_id, object_id)

    def _route(self, request: Request) -> tuple[tuple[str, str], dict[str, Any]] | Response:
        subpath = request.path[len(API_PREFIX) :].lower() or "/"
        adapter = self.accounting.bind("sandbox", path_info=subpath)
        try:
            return adapter.match(method=request.method)  # type: ignore[return-value]
        except HTTPException as exc:
            if exc.code == 405:
                return xf.text_response("The method is not implemented for this endpoint", 501)
            return xf.not_found()

    def _precheck(self, request: Request, access: Access) -> Response | None:
        """Unknown paths (404/501) and missing scopes (401) are refused before the idempotency store."""
        route = self._route(request)
        if isinstance(route, Response):
            return route
        (_, family), _ = route
        if not _scope_allows(access.scopes, family, request.method != "GET"):
            return xf.authorization_unsuccessful(insufficient_scope=True)
        return None

    def _operate(self, request: Request, access: Access, tenant: dict[str, Any]) -> Response:
        """Run an admitted, pre-checked Accounting call under the store lock."""
        route = self._route(request)
        assert not isinstance(route, Response)
        (operation, _), values = route
        unitdp = 4 if request.args.get("unitdp") == "4" else 2
        with self.plane.store.lock:
            books = Books(tenant["ledger"], self.plane.clock.now(), access.client_id, unitdp)
            try:
                response = self.operations[operation](request, books, **values)
            except (BodyError, WhereError) as exc:
                return xf.bad_request(str(exc))
            if request.method != "GET":
                self.plane.store.save()
            return response

    # -- shared list/write helpers ----------------------------------------------------------------------
    def _now(self) -> float:
        return self.plane.clock.now()

    def _list(
        self,
        request: Request,
        key: str,
        rows: list[dict[str, Any]],
        id_field: str,
        paged: bool,
        view: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: row,
    ) -> Response:
        """where, If-Modified-Since, order, then paging (only when ``page`` is given) (xero.md §2)."""
        predicate = compile_where(request.args.get("where"))
        cutoff = _modified_since(request.headers.get("If-Modified-Since"))
        if cutoff is not None:
            rows = [r for r in rows if r.get("UpdatedDateUTC", 0) >= cutoff]
        views = [view(row) for row in rows]
        views = [v for v in views if predicate(v)]
        views.sort(key=lambda v: (v.get("UpdatedDateUTC", 0), str(v.get(id_field, ""))))
        order = request.args.get("order")
        if order:
            field, _, direction = order.strip().partition(" ")
            views.sort(key=lambda v: str(v.get(field, "")), reverse=direction.strip().upper() == "DESC")
        extra: dict[str, Any] = {}
        if paged and request.args.get("page"):
            page = max(1, request.args.get("page", 1, type=int) or 1)
            size = min(
                PAGED_MAX, max(1, request.args.get("pageSize", PAGED_DEFAULT, type=int) or PAGED_DEFAULT)
            )
            count = len(views)
            extra["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": -(-count // size),
                "itemCount": count,
            }
            views = views[(page - 1) * size : page * size]
        return xf.json_response(envelope(key, views, self._now(), **extra))

    def _write(
        self, request: Request, key: str, save: Callable[[Any], Outcome], many: bool = True
    ) -> Response:
        """Run ``save`` per element; summarizeErrors=false → 200 with per-element status, else 400 on any
        error while the valid elements stay saved (xero.md §3 "Batching")."""
        items = elements(parse_json(request.get_data()), key)
        if not many:
            items = items[:1]
        outcomes = [save(item) for item in items]
        summarize = parse_bool(request.args.get("summarizeErrors"), default=True)
        if not summarize:
            rows = []
            for outcome in outcomes:
                row = dict(outcome.entity)
                if outcome.ok:
                    row["StatusAttributeString"] = "WARNING" if outcome.warnings else "OK"
                    if outcome.warnings:
                        row["Warnings"] = [{"Message": m} for m in outcome.warnings]
                else:
                    row["StatusAttributeString"] = "ERROR"
                    row["ValidationErrors"] = [{"Message": m} for m in outcome.problems.messages]  # type: ignore[union-attr]
                rows.append(row)
            return xf.json_response(envelope(key, rows, self._now()))
        failed = [o for o in outcomes if not o.ok]
        if failed:
            echoes = []
            for outcome in failed:
                echo = dict(outcome.entity)
                echo["ValidationErrors"] = [{"Message": m} for m in outcome.problems.messages]  # type: ignore[union-attr]
                echoes.append(echo)
            return xf.validation_exception(echoes)
        rows = []
        for outcome in outcomes:
            row = dict(outcome.entity)
            if outcome.warnings:
                row["Warnings"] = [{"Message": m} for m in outcome.warnings]
            rows.append(row)
        return xf.json_response(envelope(key, rows, self._now()))

    # -- settings ---------------------------------------------------------------------------------------
    def get_organisation(self, request: Request, books: Books) -> Response:
        organisation = dict(books.ledger["organisation"])
        lock_date = books.ledger.get("settings", {}).get("lock_date")
        if lock_date:
            organisation["EndOfYearLockDate"] = lock_date
        return xf.json_response(envelope("Organisations", [organisation], self._now()))

    def get_accounts(self, request: Request, books: Books) -> Response:
        return self._list(request, "Accounts", books.ledger["accounts"], "AccountID", paged=False)

    def get_account(self, request: Request, books: Books, key: str) -> Response:
        account = books.account({"AccountID": key})
        if account is None:
            return xf.not_found()
        return xf.json_response(envelope("Accounts", [account], self._now()))

    def currencies(self, request: Request, books: Books) -> Response:
        """The organisation's currencies: its base currency and those added since (PUT adds one)."""
        if request.method == "GET":
            return self._list(request, "Currencies", books.currencies(), "Code", paged=False)
        return self._write(request, "Currencies", books.add_currency, many=False)

    def tax_rates(self, request: Request, books: Books) -> Response:
        if request.method == "GET":
            return self._list(request, "TaxRates", books.ledger["tax_rates"], "TaxType", paged=False)
        create_only = request.method == "PUT"
        return self._write(
            request, "TaxRates", lambda raw: TaxRates(books).save(raw, create_only), many=False
        )

    def get_tax_rate(self, request: Request, books: Books, key: str) -> Response:
        rate = books.tax_rate(key.upper())
        if rate is None:
            return xf.not_found()
        return xf.json_response(envelope("TaxRates", [rate], self._now()))

    def get_tracking(self, request: Request, books: Books) -> Response:
        include_archived = parse_bool(request.args.get("includeArchived"))
        rows = []
        for category in books.ledger["tracking"]:
            if category["Status"] != "ACTIVE" and not include_archived:
                continue
            options = [o for o in category["Options"] if include_archived or o["Status"] == "ACTIVE"]
            rows.append({**category, "Options": options})
        return self._list(request, "TrackingCategories", rows, "TrackingCategoryID", paged=False)

    def items(self, request: Request, books: Books) -> Response:
        if request.method == "GET":
            return self._list(request, "Items", books.ledger["items"], "ItemID", paged=False)
        return self._write(request, "Items", lambda raw: books.save_item(raw, request.method == "PUT"))

    def item(self, request: Request, books: Books, key: str) -> Response:
        found = next((i for i in books.ledger["items"] if key in (i["ItemID"], i["Code"].lower())), None)
        if request.method == "GET":
            return (
                xf.not_found() if found is None else xf.json_response(envelope("Items", [found], self._now()))
            )
        if found is None:
            return xf.not_found()
        return self._write(
            request, "Items", lambda raw: books.save_item({**raw, "ItemID": found["ItemID"]}, False)
        )

    # -- contacts ---------------------------------------------------------------------------------------
    def contacts(self, request: Request, books: Books) -> Response:
        if request.method != "GET":
            return self._write(
                request, "Contacts", lambda raw: books.save_contact(raw, request.method == "PUT")
            )
        rows = list(books.ledger["contacts"].values())
        ids = {i.lower() for i in csv_param(request.args.get("IDs"))}
        if ids:
            rows = [c for c in rows if c["ContactID"] in ids]
        elif not parse_bool(request.args.get("includeArchived")):
            rows = [c for c in rows if c["ContactStatus"] != "ARCHIVED"]
        term = (request.args.get("searchTerm") or "").lower()
        if term:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
            rows = [c for c in rows if any(term in str(c.get(f, "")).lower() for f in fields)]
        return self._list(request, "Contacts", rows, "ContactID", paged=True)

    def contact(self, request: Request, books: Books, key: str) -> Response:
        found = books.ledger["contacts"].get(key)
        if found is None:
            found = next(iter(keys.with_key(books.ledger, "contacts", "ContactNumber", key)), None)
        if request.method == "GET":
            return (
                xf.not_found()
                if found is None
                else xf.json_response(envelope("Contacts", [found], self._now()))
            )
        if found is None:
            return xf.not_found()
        return self._write(
            request, "Contacts", lambda raw: books.save_contact(raw, False, found["ContactID"])
        )

    # -- invoices ---------------------------------------------------------------------------------------
    def _invoice_view(
        self, ledger: dict[str, Any], doc: dict[str, Any], unitdp: int = 2, summary: bool = False
    ):
        view = dict(doc)
        contact = ledger["contacts"].get(doc.get("Contact", {}).get("ContactID", ""))
        if contact is not None:
            view["Contact"] = {
                k: contact[k]
                for k in ("ContactID", "Name", "ContactNumber", "EmailAddress", "ContactStatus")
                if contact.get(k)
            }
        if summary:
            view.pop("LineItems", None)
        elif unitdp != 4:
            view["LineItems"] = [
                {**line, "UnitAmount": line["UnitAmount"].quantize(CENT)} for line in doc.get("LineItems", [])
            ]
        return view

    def _documents(self, request: Request, books: Books, kind: str) -> Response:
        """List or write invoices / credit notes, with the optimised filters (xero.md §2 "Filtering")."""
        store, id_field, _, _, _ = DOC[kind]
        key = "Invoices" if kind == "invoice" else "CreditNotes"
        if request.method != "GET":
            create_only = request.method == "PUT"
            return self._write(request, key, lambda raw: books.save_document(kind, raw, create_only))
        rows = self._filtered_documents(request, books, list(books.ledger[store].values()), kind)
        unitdp = 4 if request.args.get("unitdp") == "4" else 2
        summary = parse_bool(request.args.get("summaryOnly"))
        return self._list(
            request,
            key,
            rows,
            id_field,
            paged=True,
            view=lambda d: self._invoice_view(books.ledger, d, unitdp, summary),
        )

    @staticmethod
    def _filtered_documents(
        request: Request, books: Books, rows: list[dict[str, Any]], kind: str
    ) -> list[dict[str, Any]]:
        _, id_field, number_field, _, _ = DOC[kind]
        ids = {i.lower() for i in csv_param(request.args.get("IDs"))}
        numbers = set(csv_param(request.args.get(f"{number_field}s")))
        contact_ids = {i.lower() for i in csv_param(request.args.get("ContactIDs"))}
        statuses = {s.upper() for s in csv_param(request.args.get("Statuses"))}
        if ids:
            rows = [r for r in rows if r[id_field] in ids]
        if numbers:
            rows = [r for r in rows if r.get(number_field) in numbers]
        if contact_ids:
            rows = [r for r in rows if r["Contact"]["ContactID"] in contact_ids]
        if statuses:
            rows = [r for r in rows if r["Status"] in statuses]
        if parse_bool(request.args.get("createdByMyApp")):
            rows = [r for r in rows if r.get("_client_id") == books.client_id]
        return rows

    def _document(self, request: Request, books: Books, kind: str, key: str) -> Response:
        envelope_key = "Invoices" if kind == "invoice" else "CreditNotes"
        if request.method == "GET":
            found = books.find_document(kind, key)
            # Paths are lower-cased for matching; numbers are matched case-sensitively on the original.
            if found is None:
                original = request.path.rsplit("/", 1)[-1]
                found = books.find_document(kind, original)
            if found is None:
                return xf.not_found()
            unitdp = 4 if request.args.get("unitdp") == "4" else 2
            view = self._invoice_view(books.ledger, found, unitdp)
            return xf.json_response(envelope(envelope_key, [view], self._now()))
        original = request.path.rsplit("/", 1)[-1]
        return self._write(
            request, envelope_key, lambda raw: books.save_document(kind, raw, False, original), many=False
        )

    def invoices(self, request: Request, books: Books) -> Response:
        return self._documents(request, books, "invoice")

    def invoice(self, request: Request, books: Books, key: str) -> Response:
        return self._document(request, books, "invoice", key)

    def credit_notes(self, request: Request, books: Books) -> Response:
        return self._documents(request, books, "credit_note")

    def credit_note(self, request: Request, books: Books, key: str) -> Response:
        return self._document(request, books, "credit_note", key)

    def allocate(self, request: Request, books: Books, key: str) -> Response:
        return self._write(request, "Allocations", lambda raw: Settlements(books).allocate(key, raw))

    def unallocate(self, request: Request, books: Books, key: str, allocation_id: str) -> Response:
        view = Settlements(books).delete_allocation(key, allocation_id)
        if view is None:
            return xf.not_found()
        return xf.json_response(render(view))  # the spec's DELETE answers a bare Allocation

    # -- payments ---------------------------------------------------------------------------------------
    def payments(self, request: Request, books: Books) -> Response:
        if request.method != "GET":
            return self._write(request, "Payments", Settlements(books).save_payment)
        rows = list(books.ledger["payments"].values())
        return self._list(
            request, "Payments", rows, "PaymentID", paged=True, view=Settlements(books).payment_view
        )

    def payment(self, request: Request, books: Books, key: str) -> Response:
        found = books.ledger["payments"].get(key)
        if request.method == "GET":
            if found is None:
                return xf.not_found()
            return xf.json_response(
                envelope("Payments", [Settlements(books).payment_view(found)], self._now())
            )
        if found is None:
            return xf.not_found()
        return self._write(
            request, "Payments", lambda raw: Settlements(books).delete_payment(key, raw), many=False
        )
