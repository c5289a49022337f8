"""QuickBooks Online's JSON on the wire (quickbooks.md §2): PascalCase entities wrapped as
``{"<Entity>": {...}, "time": ...}``, string ``Id``/``SyncToken``, ``YYYY-MM-DD`` dates, ``MetaData`` times
and ``time`` with the company's UTC offset, money as JSON numbers, and no JSON ``null`` (python-quickbooks
raises on a null object or list, real-clients.md). Requests are read tolerantly: python-quickbooks sends its
defaults (``"TotalAmt": ""``, ``"SyncToken": 0``, empty refs) and Decimal money as strings.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .errors import QBOError, missing

CENT = Decimal("0.01")
# Money fields keep a decimal point on the wire (``100.0``), as QBO writes amounts; quantities, prices and
# rates are written in their shortest form (``24``, ``8.5``).
AMOUNT_FIELDS = frozenset(
    {
        "Amount",
        "TotalAmt",
        "Balance",
        "HomeBalance",
        "HomeTotalAmt",
        "UnappliedAmt",
        "RemainingCredit",
        "TotalTax",
        "NetAmountTaxable",
        "TaxInclusiveAmt",
        "BalanceWithJobs",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
    }
)


def _number(key: str, value: Decimal) -> int | float:
    if value == value.to_integral_value() and key not in AMOUNT_FIELDS:
        return int(value)
    # At most 15 significant digits (QBO's 10.5 format): a double's shortest repr is exact.
    return float(value)


def render(value: Any, key: str = "") -> Any:
    """Stored entity → QBO JSON values, recursively; ``None`` and ``_private`` keys are dropped."""
    if isinstance(value, dict):
        return {k: render(v, k) for k, v in value.items() if v is not None and not k.startswith("_")}
    if isinstance(value, list):
        return [render(item, key) for item in value]
    if isinstance(value, Decimal):
        return _number(key, value)
    return value


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def local_time(epoch: float, zone: str, millis: bool = False) -> str:
    """``2026-12-03T14:26:07-08:00`` in the company's zone (``MetaData``); ``time`` adds milliseconds."""
    moment = datetime.fromtimestamp(epoch, ZoneInfo(zone))
    return moment.isoformat(timespec="milliseconds" if millis else "seconds")


def local_date(epoch: float, zone: str) -> str:
    """Today in the company's zone: QBO's default ``TxnDate``."""
    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).date().isoformat()


def view(record: dict[str, Any], zone: str) -> dict[str, Any]:
    """A stored object as QBO shows it: ``MetaData`` times in the company's zone."""
    out = dict(record)
    if isinstance(out.get("MetaData"), dict):
        out["MetaData"] = {k: local_time(v, zone) for k, v in out["MetaData"].items()}
    return render(out)


# -- reading requests -------------------------------------------------------------------------------------
def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise QBOError("2010", "Request has invalid or unsupported property", "The request body is empty.")
    try:
        return json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise QBOError(
            "2010", "Request has invalid or unsupported property", "The request body is not JSON."
        ) from None


def present(value: Any) -> bool:
    """python-quickbooks sends ``""``, ``null`` and empty refs for fields it has no value for."""
    if value is None or value == "":
        return False
    if isinstance(value, dict) and set(value) <= {"value", "name", "type"}:
        return bool(value.get("value"))
    return True


def money(value: Any, element: str) -> Decimal:
    """A JSON number or a numeric string (python-quickbooks ``str()``s Decimals) → Decimal."""
    if isinstance(value, bool) or not present(value):
        raise missing(element)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise QBOError("2040", "Invalid Number", f"{element} is not a number: {value}", element) from None
    if not number.is_finite():
        raise QBOError("2040", "Invalid Number", f"{element} is not a number: {value}", element)
    return number


def optional_money(value: Any, element: str) -> Decimal | None:
    return money(value, element) if present(value) else None


def obj(value: Any) -> dict[str, Any]:
    """A nested object of a request, or an empty one when the client sent anything else."""
    return value if isinstance(value, dict) else {}


def ref_value(value: Any) -> str | None:
    """``{"value": "58", "name": ""}`` → ``"58"``; absent or empty → None."""
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def parse_bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip().lower() == "true"
    return default
