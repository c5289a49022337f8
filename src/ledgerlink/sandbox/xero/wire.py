"""Xero's JSON on the wire: ``/Date(ms+0000)/`` dates, PascalCase envelopes, numbers for money, keys omitted
rather than null (real-clients.md "Responses the SDK can read"), and the tolerant reading of request bodies
that real clients send (bare objects, ``/Date(ms)/`` or ISO dates, read-only defaults, ``True``/``False``).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Fields stored as ISO dates ("YYYY-MM-DD") and rendered as midnight-UTC /Date()/ (trap 4).
DATE_FIELDS = frozenset(
    {"Date", "DueDate", "FullyPaidOnDate", "ExpectedPaymentDate", "PlannedPaymentDate", "EndOfYearLockDate"}
)
# Fields stored as sandbox epoch seconds and rendered as /Date(ms+0000)/ instants.
TIMESTAMP_FIELDS = frozenset({"UpdatedDateUTC", "CreatedDateUTC"})
# Fields stored with their date and also shown as ``<name>String`` like Xero does.
DATE_STRING_FIELDS = {"Date": "DateString", "DueDate": "DueDateString"}

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def ms_date(iso: str) -> str:
    """``2026-07-01`` → ``/Date(1782864000000+0000)/`` (midnight UTC)."""
    day = date.fromisoformat(iso)
    stamp = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return f"/Date({int(stamp) * 1000}+0000)/"


def ms_instant(epoch: float) -> str:
    return f"/Date({int(epoch * 1000)}+0000)/"


def iso_instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def render(value: Any) -> Any:
    """Internal ledger data → Xero JSON values (recursively). ``None`` values are dropped, never sent."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or key.startswith("_"):
                continue
            if key in DATE_FIELDS and isinstance(item, str):
                out[key] = ms_date(item)
                if key in DATE_STRING_FIELDS:
                    out[DATE_STRING_FIELDS[key]] = f"{item}T00:00:00"
            elif key in TIMESTAMP_FIELDS and isinstance(item, int | float):
                out[key] = ms_instant(item)
            else:
                out[key] = render(item)
        return out
    if isinstance(value, list):
        return [render(item) for item in value]
    if isinstance(value, Decimal):
        # Money has at most 4 dp and 13 digits, which a double's shortest repr reproduces exactly.
        return float(value)
    return value


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def envelope(key: str, items: list[dict[str, Any]], now: float, **extra: Any) -> dict[str, Any]:
    """The success envelope every Accounting response carries."""
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "LedgerLink Sandbox",
        "DateTimeUTC": ms_instant(now),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    body[key] = render(items)
    return body


# -- reading requests -------------------------------------------------------------------------------------
class BodyError(ValueError):
    """A request body that is not the JSON Xero expects; the message is shown to the client."""


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BodyError("The request body is empty.")
    try:
        return json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BodyError("The request body is not valid JSON.") from None


def elements(body: Any, key: str) -> list[Any]:
    """``{"Invoices": [...]}`` or a bare object (xero-python's create_payment; hotglue) or a bare list."""
    if isinstance(body, dict) and key in body:
        items = body[key]
        return items if isinstance(items, list) else [items]
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    raise BodyError(f'Expected an object or {{"{key}": [...]}}.')


def parse_bool(raw: str | None, default: bool = False) -> bool:
    """Query booleans, case-insensitive: xero-python sends Python's ``True``/``False``."""
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("true", "1", "yes")


def parse_date(value: Any) -> str:
    """``/Date(ms)/``, ``/Date(ms+0000)/``, ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ss`` → ``YYYY-MM-DD``."""
    if not isinstance(value, str):
        raise ValueError("not a date")
    match = _MS_DATE.match(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date().isoformat()
    text = value.strip()
    if len(text) >= 10:
        return date.fromisoformat(text[:10]).isoformat()
    raise ValueError("not a date")


def parse_decimal(value: Any) -> Decimal:
    """JSON numbers (already Decimal) or numeric strings → Decimal; anything else is refused."""
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a number")
    return number


def csv_param(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]
