"""The QuickBooks Online Accounting API under ``/v3/company/{realmId}`` (quickbooks.md §2-§5): entity
reads and writes with ``?operation=delete|void`` and ``include=void``, the query endpoint (GET ``?query=`` or
POST ``application/text``), ``/batch``, and the provider's hooks for the shared control plane. Identity is in
``identity.py``; the gates every call passes (token, company, limits, faults, ``requestid``) in
``control/gateway.py``. Every response carries an ``intuit_tid`` header."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from ..control.apppages import to_ledger_page
from ..control.gateway import CONCURRENT_EDIT_KEY, Gateway
from ..control.grants import Access, OAuthPolicy
from ..control.limiter import Budget, Cost, Scope
from . import query as qbo_query
from . import seed
from .books import SALES_FORMS, BatchSight, Books
from .errors import QBOError
from .faults import QuickBooksRenderer, fault_response, forbidden, json_response
from .identity import QuickBooksIdentity
from .keys import INDEX
from .page import company_page
from .wire import local_time, parse_json, view

if TYPE_CHECKING:
    from ..control.plane import ControlPlane

COMPANY_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)(?P<rest>/.*)?$", re.IGNORECASE)
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        "com.intuit.quickbooks.payment",
        "indirect-tax.tax-calculation.quickbooks",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
    }
)
# Path segment → entity; which ones a client may write (the rest are read-only in the sandbox).
ENTITIES = {name.lower(): name for name in qbo_query.MODELLED}
WRITABLE = frozenset({"Customer", "Item", "Invoice", "Payment", "CreditMemo", "RefundReceipt"})
MAX_BATCH_ITEMS = 30
MAX_BATCH_ID = 10
BUDGETS = (
    Budget("per_minute", "minute", Scope.TENANT),
    Budget("batch_app_per_minute", "batch_app", Scope.APP_TENANT, batch_only=True),
    Budget("batch_per_minute", "batch", Scope.TENANT, batch_only=True),
    Budget("in_flight", "concurrent", Scope.APP_TENANT, None, retry_after=False),
)
DEFAULT_LIMITS = {"per_minute": 500, "in_flight": 10, "batch_app_per_minute": 40, "batch_per_minute": 120}
SETTINGS = {"batch_metering": ("item", "request"), "custom_txn_numbers": (True, False)}
# Settings that stand for what an accountant does in QuickBooks' screens: close the books through a date
# (BookCloseDate), make tax codes inactive (e.g. a company that keeps no 0% code in use).
EDITS = ("book_close_date", "inactive_tax_codes")


def _is_iso_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def unsupported(detail: str) -> QBOError:
    return QBOError("500", "Unsupported Operation", detail)


# QuickBooks' app pages a connector links to (app.qbo.intuit.com): the id's parameter, and the store it is in.
APP_PAGES = {"/app/invoice": "txnId", "/app/customerdetail": "nameId", "/app/recvpayment": "txnId"}
APP_STORES = {"/app/invoice": "Invoice", "/app/customerdetail": "Customer", "/app/recvpayment": "Payment"}


class QuickBooksProvider:
    """The QBO side of a sandbox: its OAuth policy, seed data, routes and views."""

    name = "quickbooks"
    regions: tuple[str, ...] = seed.REGIONS
    budgets: tuple[Budget, ...] = BUDGETS
    default_limits: dict[str, int] = DEFAULT_LIMITS
    idempotency_retention_s = 86_400.0  # not documented by Intuit (quickbooks.md §4): a day, configurable
    known_scopes = KNOWN_SCOPES

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        # quickbooks.md §1.2: 1-hour access tokens; refresh tokens roll 100 days, change value about once a
        # day, are refused once superseded, and die 5 years after consent whatever the refreshes.
        self.policy = OAuthPolicy(
            issuer="https://oauth.platform.intuit.com/op/v1",
            access_ttl_s=3600.0,
            refresh_idle_ttl_s=100 * 86_400.0,
            refresh_grace_s=0.0,
            rotate_after_s=86_400.0,
            refresh_hard_ttl_s=5 * 365 * 86_400.0,
            refresh_scope=None,
        )
        self.gateway = Gateway(plane, QuickBooksRenderer(plane.clock))
        self.identity = QuickBooksIdentity(plane, self.gateway, self)

    # -- provider hooks ---------------------------------------------------------------------------------
    def new_ledger(self, region: str, name: str, tenant_id: str, now: float) -> dict[str, Any]:
        return seed.new_ledger(region, name, tenant_id, now)

    def new_tenant_id(self) -> str:
        """Realm ids are long decimal numbers at Intuit."""
        return str(9_130_000_000_000_000 + secrets.randbelow(10**15))

    def redirect_params(self, scope: str, tenant_ids: list[str]) -> dict[str, str]:
        return {"realmId": tenant_ids[0]}

    def scope_error(self, app: dict[str, Any], scope: str) -> str | None:
        scopes = set(scope.split())
        return "invalid_scope" if not scopes or scopes - KNOWN_SCOPES else None

    def settings_error(self, settings: dict[str, Any]) -> str | None:
        for key, value in settings.items():
            if key == "book_close_date":
                if value is not None and not _is_iso_date(value):
                    return "book_close_date must be a date (YYYY-MM-DD) or null"
                continue
            if key == "inactive_tax_codes":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    return "inactive_tax_codes must be a list of TaxCode ids"
                continue
            if key not in SETTINGS:
                return f"unknown settings {key!r}; known: {sorted([*SETTINGS, *EDITS])}"
            if value not in SETTINGS[key] or (isinstance(value, bool) != isinstance(SETTINGS[key][0], bool)):
                return f"{key} must be one of {list(SETTINGS[key])}"
        return None

    def apply_settings(self, ledger: dict[str, Any]) -> None:
        inactive = set(ledger["settings"].get("inactive_tax_codes") or ())
        for code in ledger["TaxCode"].values():
            code["Active"] = code["Id"] not in inactive

    def tier_limits(self, tier: str) -> dict[str, int]:
        if tier:
            raise ValueError("QuickBooks apps have no tier")
        return {}

    def consent_error(self, app: dict[str, Any], tenant_ids: list[str]) -> str | None:
        if len(tenant_ids) != 1:
            return "QuickBooks connects exactly one company per authorization."
        return None

    def ledger_view(self, tenant: dict[str, Any]) -> dict[str, Any]:
        """A company's books as QBO would return them, for test assertions."""
        ledger = tenant["ledger"]
        out: dict[str, Any] = {"tenant_id": tenant["tenant_id"], "realmId": tenant["tenant_id"]}
        out.update(region=tenant["region"], name=tenant["name"])
        for entity in ("Customer", "Item", *SALES_FORMS, "Payment"):
            out[entity] = [self._view(ledger, entity, r) for r in ledger[entity].values()]
        out["Preferences"] = self._view(ledger, "Preferences", ledger["preferences"])
        return out

    def tenant_page(self, tenant: dict[str, Any]) -> str:
        return company_page(tenant)

    # -- dispatch ---------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        match = COMPANY_PATH.match(request.path)
        if request.path in APP_PAGES:
            response = self._app_page(request)
        elif match is None:
            response = self.identity.handle(request)
        else:
            realm = match.group("realm")
            response = self.gateway.serve(
                request, realm, self._operate, self._precheck, self._cost(request, realm)
            )
        if "intuit_tid" not in response.headers:
            response.headers["intuit_tid"] = str(uuid.uuid4())
        return response

    def _app_page(self, request: Request) -> Response:
        """app.qbo.intuit.com's transaction and customer pages; ids count per company, so companyId
        names it."""
        realm = request.args.get("companyId", "")
        object_id = request.args.get(APP_PAGES[request.path], "")
        with self.plane.store.lock:
            tenant = self.plane.store.tenants.get(realm)
            store = APP_STORES[request.path]
            held = tenant is not None and object_id in tenant["ledger"][store]
        return to_ledger_page(realm if held else None, object_id)

    def _cost(self, request: Request, realm: str) -> Cost:
        """Batch items count against the 500/min one by one or as one request: a company setting, since
        the sources disagree (quickbooks.md §3; docs/sandbox.md)."""
        if not self._rest(request).lower().startswith("/batch"):
            return Cost()
        tenant = self.plane.store.tenants.get(realm)
        per_item = tenant is None or tenant["ledger"]["settings"].get("batch_metering", "item") == "item"
        items = 1
        if per_item:
            try:
                body = parse_json(request.get_data())
                items = max(1, len(body.get("BatchItemRequest") or []))
            except (QBOError, AttributeError, TypeError):
                items = 1
        return Cost(units=items, batch=True)

    @staticmethod
    def _rest(request: Request) -> str:
        match = COMPANY_PATH.match(request.path)
        return (match.group("rest") if match else None) or "/"

    def _route(self, request: Request) -> tuple[str, str | None]:
        """(operation, entity) for a company path, or QBOError 500 when QBO has no such operation."""
        parts = [p for p in self._rest(request).split("/") if p]
        first = parts[0].lower() if parts else ""
        if first == "query" and request.method in ("GET", "POST") and len(parts) == 1:
            return "query", None
        if first == "batch" and request.method == "POST" and len(parts) == 1:
            return "batch", None
        entity = ENTITIES.get(first)
        if entity is None:
            raise unsupported(f"Operation {request.method} {first or '/'} is not supported.")
        if request.method == "GET" and (len(parts) == 2 or (entity == "Preferences" and len(parts) == 1)):
            return "read", entity
        if request.method == "POST" and len(parts) == 1 and entity in WRITABLE:
            return "write", entity
        raise unsupported(f"Operation {request.method} {entity} is not supported by the sandbox.")

    def _precheck(self, request: Request, access: Access) -> Response | None:
        """Unknown operations (400 code 500) and a token without the accounting scope (403 code 3100) are
        refused before the requestid store sees them."""
        try:
            self._route(request)
        except QBOError as error:
            return fault_response(error, self.plane.clock.now())
        if ACCOUNTING_SCOPE not in access.scopes:
            return forbidden(
                self.plane.clock.now(), "The token does not carry com.intuit.quickbooks.accounting."
            )
        return None

    def _operate(self, request: Request, access: Access, tenant: dict[str, Any]) -> Response:
        operation, entity = self._route(request)
        ledger = tenant["ledger"]
        with self.plane.store.lock:
            now = self.plane.clock.now()
            body: dict[str, Any]
            try:
                if operation == "query":
                    body = {"QueryResponse": self._query(ledger, self._statement(request), None)}
                elif operation == "batch":
                    body = {"BatchItemResponse": self._batch(request, ledger, now)}
                elif operation == "read":
                    assert entity is not None
                    body = {entity: self._read(request, ledger, entity, now)}
                else:
                    assert entity is not None
                    written = parse_json(request.get_data())
                    if request.environ.get(CONCURRENT_EDIT_KEY):
                        Books(ledger, now, {}).edited_elsewhere(entity, written)
                    body = {entity: self._write(ledger, entity, written, dict(request.args), now)}
                    self.plane.store.save()
            except QBOError as error:
                return fault_response(error, now, ledger["zone"])
        body["time"] = local_time(now, ledger["zone"], millis=True)
        return json_response(body)

    # -- operations -------------------------------------------------------------------------------------
    def _view(self, ledger: dict[str, Any], entity: str, record: dict[str, Any]) -> dict[str, Any]:
        record = dict(record)
        if entity == "Customer":
            owed = sum(
                (i["Balance"] for i in INDEX.with_key(ledger, "Invoice", "CustomerRef", record["Id"])),
                Decimal("0"),
            )
            record.update(Balance=owed, BalanceWithJobs=owed)
        if entity == "Preferences":
            custom = ledger["settings"].get("custom_txn_numbers")
            if custom is not None:
                record["SalesFormsPrefs"] = {**record["SalesFormsPrefs"], "CustomTxnNumbers": custom}
        return view(record, ledger["zone"])

    def _read(self, request: Request, ledger: dict[str, Any], entity: str, now: float) -> dict[str, Any]:
        if entity == "Preferences":
            return self._view(ledger, entity, ledger["preferences"])
        key = self._rest(request).rstrip("/").rsplit("/", 1)[-1]
        if entity == "CompanyInfo":
            if key != ledger["realm_id"]:
                raise QBOError(
                    "610", "Object Not Found", f"Object Not Found : CompanyInfo {key} was not found."
                )
            return self._view(ledger, entity, ledger["company"])
        return self._view(ledger, entity, Books(ledger, now, {}).get(entity, key))

    def _write(
        self,
        ledger: dict[str, Any],
        entity: str,
        body: Any,
        params: dict[str, str],
        now: float,
        sight: BatchSight | None = None,
    ) -> dict[str, Any]:
        """Create or update, ``operation=delete``, ``operation=void`` or ``operation=update&include=void``."""
        if not isinstance(body, dict):
            raise QBOError(
                "2010", "Request has invalid or unsupported property", f"Expected a {entity} object."
            )
        books = Books(ledger, now, params, sight)
        operation = params.get("operation", "update").lower()
        include = params.get("include", "").lower()
        if operation == "delete":
            return books.delete(entity, body)
        if operation == "void" or (operation == "update" and include == "void"):
            if (entity == "Payment") != (operation == "update"):
                raise unsupported(
                    f"Void {entity} with operation={operation} is not supported; see quickbooks.md §2.8."
                )
            return self._view(ledger, entity, books.void(entity, body))
        if operation not in ("update", "create"):
            raise unsupported(f"operation={operation} is not supported.")
        return self._view(ledger, entity, books.save(entity, body))

    @staticmethod
    def _statement(request: Request) -> str:
        """GET ``?query=``, or POST with the statement as an ``application/text`` body (python-quickbooks)."""
        if request.method == "GET" or request.args.get("query"):
            return request.args.get("query", "")
        return request.get_data(as_text=True)

    def _query(self, ledger: dict[str, Any], statement: str, sight: BatchSight | None) -> dict[str, Any]:
        query = qbo_query.parse(statement)
        if query.entity not in qbo_query.MODELLED:
            return {"totalCount": 0} if query.count else {}
        if query.entity == "CompanyInfo":
            rows = [ledger["company"]]
        elif query.entity == "Preferences":
            rows = [ledger["preferences"]]
        else:
            rows = [
                r for r in ledger[query.entity].values() if sight is None or sight.sees(query.entity, r["Id"])
            ]
        return qbo_query.run(query, rows, lambda r: self._view(ledger, query.entity, r))

    def _batch(self, request: Request, ledger: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """≤30 items, run in order against the books as they stood when the batch began; a failed item is a
        ``Fault`` inside the 200 (quickbooks.md §3)."""
        body = parse_json(request.get_data())
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise QBOError(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "",
                "BatchItemRequest",
            )
        if len(items) > MAX_BATCH_ITEMS:
            raise QBOError(
                "1040",
                "Batch size exceeds allowed limit",
                f"A batch may hold at most {MAX_BATCH_ITEMS} items; it held {len(items)}.",
            )
        if request.args.get("requestid") and any(
            len(str(i.get("bId", ""))) > MAX_BATCH_ID for i in items if isinstance(i, dict)
        ):
            raise QBOError(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"bId must be at most {MAX_BATCH_ID} characters when a requestid is given.",
                "bId",
            )
        sight = BatchSight()
        answers = [self._batch_item(ledger, item, now, sight) for item in items]
        self.plane.store.save()
        return answers

    def _batch_item(self, ledger: dict[str, Any], item: Any, now: float, sight: BatchSight) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {
                "Fault": QBOError(
                    "2010", "Request has invalid or unsupported property", "A batch item must be an object."
                ).fault()
            }
        answer: dict[str, Any] = {"bId": item.get("bId")}
        try:
            if "Query" in item:
                answer["QueryResponse"] = self._query(ledger, str(item["Query"]), sight)
                return answer
            entities = [k for k in item if k in WRITABLE]
            if len(entities) != 1:
                raise QBOError(
                    "2010",
                    "Request has invalid or unsupported property",
                    "A batch item needs one entity or a Query.",
                )
            params = {"operation": str(item.get("operation", "create"))}
            if item.get("optionsData") == "void" and entities[0] == "Payment":
                params.update(operation="update", include="void")
            elif item.get("optionsData") == "void":
                params["operation"] = "void"
            answer[entities[0]] = self._write(ledger, entities[0], item[entities[0]], params, now, sight)
        except QBOError as error:
            answer["Fault"] = error.fault()
        return answer
