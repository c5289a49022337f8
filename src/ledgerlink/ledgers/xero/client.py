"""Xero Accounting API transport: paths, headers, paging, the idempotency header, and the rate budget Xero
reports on every answer. Requests go through `ledgers.http`; nothing here knows CashFlow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import LedgerResponse, RateBudget
from ledgerlink.ledgers.xero import errors

CORRELATION_HEADER = "Xero-Correlation-Id"
# Xero's documented page size limit is 1000 (xero.md 2, "Paging"); fewer pages, fewer calls.
PAGE_SIZE = 1000
MAX_IDEMPOTENCY_KEY = 128  # xero.md 4


def api_base() -> str:
    return f"{settings.XERO_API_URL.rstrip('/')}/api.xro/2.0"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name, "")
    return int(value) if value.strip().isdigit() else None


def rate_budget(headers: Mapping[str, str]) -> RateBudget:
    """X-MinLimit-Remaining / X-DayLimit-Remaining / Retry-After (xero.md 5). Xero's minute windows are
    fixed per tenant, and a minute refusal's Retry-After names the rest of the window: its phase."""
    wait = http.retry_after(headers)
    minute_refusal = headers.get("X-Rate-Limit-Problem", "").strip().lower() == "minute"
    return RateBudget(
        minute_remaining=_int_header(headers, "X-MinLimit-Remaining"),
        day_remaining=_int_header(headers, "X-DayLimit-Remaining"),
        retry_after_s=wait,
        window_left_s=wait if minute_refusal else None,
    )


class XeroClient:
    """One tenant's Accounting API, with an access token the caller keeps fresh (ledgers.tokens)."""

    def __init__(self, *, access_token: str, tenant_id: str, organisation_id: str) -> None:
        self._access_token = access_token
        self._tenant_id = tenant_id
        self._context = http.CallContext(
            str(organisation_id), "xero", CORRELATION_HEADER, tenant_id=tenant_id, read_budget=rate_budget
        )

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def _headers(self, idempotency_key: str | None, has_body: bool) -> dict[str, str]:
        # Accept: Xero answers XML by default (xero.md 2); xero-tenant-id on every Accounting call (xero.md 1)
        headers = {
            "Authorization": f"Bearer {self._access_token}",
            "xero-tenant-id": self._tenant_id,
            "Accept": "application/json",
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
                raise ValueError(f"Xero idempotency keys are at most {MAX_IDEMPOTENCY_KEY} characters.")
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        idempotency_key: str | None = None,
    ) -> LedgerResponse:
        """Send one Accounting API request and return the answer, whatever its status."""
        exchange = http.send(
            self._context,
            method,
            f"{api_base()}{path}",
            headers=self._headers(idempotency_key, body is not None),
            params=params,
            content=http.json_bytes(body) if body is not None else None,
        )
        return http.ledger_response(exchange)

    def get(self, path: str, params: Mapping[str, str] | None = None, noun: str = "request") -> Any:
        """A read that must succeed: the parsed body, or the request's error raised."""
        return http.body_or_raise(self.request("GET", path, params=params), noun, errors.request_error)

    def get_all(self, path: str, collection: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every element of a paged collection (Invoices, Contacts, CreditNotes, Payments), page by page."""
        found: list[Any] = []
        page = 1
        while True:
            body = self.get(path, {**(params or {}), "page": str(page), "pageSize": str(PAGE_SIZE)})
            batch = (body or {}).get(collection) or []
            found.extend(batch)
            # Trust `pagination` when Xero sends it; otherwise read until an empty page, since Xero clamps an
            # out-of-range pageSize and a short page proves nothing about the next.
            pagination = (body or {}).get("pagination") or {}
            if pagination.get("pageCount") is not None:
                if page >= int(pagination["pageCount"]):
                    return found
            elif not batch:
                return found
            page += 1
