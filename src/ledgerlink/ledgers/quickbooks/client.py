"""QuickBooks Online Accounting API transport: the company's paths, `minorversion` on every request, the
`requestid` on every write, the query language with paging, and `intuit_tid` as the correlation id.
Requests go through `ledgers.http`; nothing here knows CashFlow."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from ledgerlink.ledgers import answers, http
from ledgerlink.ledgers.contract import LedgerResponse, RateBudget
from ledgerlink.ledgers.quickbooks import errors

CORRELATION_HEADER = "intuit_tid"
# Since 2025-08-01 everything below 75 is served as 75 (quickbooks.md 1.4); Intuit still asks for it on every
# request (certification.md), and naming it keeps answers stable if 76 changes a shape.
MINOR_VERSION = "75"
MAX_REQUEST_ID = 50  # quickbooks.md 4; 36 on /batch
MAX_BATCH_REQUEST_ID = 36
PAGE_SIZE = 1000  # MAXRESULTS is capped at 1000 (quickbooks.md 2.9)


def api_base(realm_id: str) -> str:
    return f"{settings.QBO_API_URL.rstrip('/')}/v3/company/{realm_id}"


def quoted(value: str) -> str:
    """A string literal for QuickBooks' query language: single-quoted, backslash-escaped (quickbooks.md
    2.9). Every value put into a query goes through here."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fitted(request_id: str, limit: int) -> str:
    """The requestid as QuickBooks takes it: at most `limit` characters (a longer one is a 400, code 2050).
    A longer key is digested to the limit, the same key always to the same id, so a replay still matches."""
    if len(request_id) <= limit:
        return request_id
    return "h-" + hashlib.sha256(request_id.encode()).hexdigest()[: limit - 2]


class QuickBooksClient:
    """One company's (realm's) Accounting API, with an access token the caller keeps fresh."""

    def __init__(self, *, access_token: str, realm_id: str, organisation_id: str) -> None:
        self._access_token = access_token
        self.realm_id = realm_id
        self._context = http.CallContext(
            str(organisation_id), "quickbooks", CORRELATION_HEADER, tenant_id=realm_id, read_budget=_budget
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        request_id: str | None = None,
    ) -> LedgerResponse:
        """Send one request and return the answer, whatever its status. `request_id` makes a write
        idempotent: QuickBooks answers a repeat with the first answer and does nothing again."""
        query = {**(params or {}), "minorversion": MINOR_VERSION}
        if request_id:
            query["requestid"] = fitted(
                request_id, MAX_BATCH_REQUEST_ID if path == "/batch" else MAX_REQUEST_ID
            )
        # Without Accept: application/json QuickBooks answers XML (quickbooks.md 1.1).
        headers = {"Authorization": f"Bearer {self._access_token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        exchange = http.send(
            self._context,
            method,
            f"{api_base(self.realm_id)}{path}",
            headers=headers,
            params=query,
            content=http.json_bytes(body) if body is not None else None,
        )
        return http.ledger_response(exchange)

    def get(self, path: str, params: Mapping[str, str] | None = None, noun: str = "request") -> Any:
        """A read that must succeed: the parsed body, or the request's error raised."""
        response = self.request("GET", path, params=params)
        body = http.body_or_raise(response, noun, errors.request_error)
        return answers.readable(body, errors.NAME, noun, response.correlation_id)

    def query(self, entity: str, where: str = "", noun: str = "look-up") -> list[Any]:
        """Every row of `SELECT * FROM entity [WHERE where]`, page by page. GET, not POST: a read whose
        answer is lost is safe to resend (ledgers/http.py)."""
        rows: list[Any] = []
        start = 1
        while True:
            # Not SQL: QuickBooks' own query language, sent as a parameter; values are `quoted`.
            statement = f"SELECT * FROM {entity}"  # noqa: S608
            if where:
                statement += f" WHERE {where}"
            statement += f" STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
            body = self.get("/query", {"query": statement}, noun)
            page = _rows(body, entity, noun)
            rows += page
            if len(page) < PAGE_SIZE:
                return rows
            start += PAGE_SIZE

    def write(self, entity: str, body: object, request_id: str, **params: str) -> LedgerResponse:
        """POST /{entity} (create, update, ?operation=delete|void) with a requestid."""
        return self.request("POST", f"/{entity.lower()}", params=params, body=body, request_id=request_id)


def _rows(body: Mapping[str, Any], entity: str, noun: str) -> list[Mapping[str, Any]]:
    """A query page's rows; a page that is not a list of objects is unreadable (never "no rows", which would
    tell a look-up that an object is not there)."""
    found = body.get("QueryResponse") or {}
    listed = found.get(entity) or [] if isinstance(found, Mapping) else None
    if isinstance(listed, list) and all(isinstance(row, Mapping) for row in listed):
        return listed
    raise answers.unreadable_read(errors.NAME, noun)


def _budget(headers: Mapping[str, str]) -> RateBudget:
    # QuickBooks reports no remaining budget; only a throttle answer may carry Retry-After.
    return RateBudget(retry_after_s=http.retry_after(headers))
