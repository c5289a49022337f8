"""The only place that reads QuickBooks Online's fault bodies (quickbooks.md section 6) and names them by what
happens next.

Two casings meet here: the API's `{"Fault":{"Error":[{"Message","Detail","code","element"}],"type"}}` and the
gateway's lower-case `{"fault":{"error":[{"message","detail","code"}],"type":"AUTHENTICATION"}}` on 401s.
Inside a 200 batch answer a failed item carries the upper-case `Fault` too. Every error keeps the
`intuit_tid` of the answer as its correlation id, which is what the audit log stores and Intuit support asks
for. Raw bodies never go into exceptions; users see QuickBooks' own sentence in a plain frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledgerlink.ledgers import answers, http
from ledgerlink.ledgers.errors import (
    NAME_RACE,
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
)

NAME = "QuickBooks"
# Intuit: on a throttle answer wait 60 s before trying again (quickbooks.md 5); no Retry-After documented.
THROTTLE_RETRY_S = 60.0
UNAVAILABLE_RETRY_S = 60.0

THROTTLED = "3001"
STALE_SYNC_TOKEN = "5010"
DUPLICATE_DOC_NUMBER = "6140"
DUPLICATE_NAME = "6240"
NAME_TAKEN = "name_taken"  # the code of the Retry a 6240 becomes
SYSTEM_FAULT = "10000"
# Codes a mapping change can fix: an unknown (2500) or inactive (610) reference, a US line code other than
# TAX/NON (6100), an item on an A/R or A/P account (6430), a global-tax line without a code (6000 naming the
# TaxCodeRef element), an account QuickBooks will not deposit to (6000 naming DepositToAccountRef).
_REFERENCE_CODES = frozenset({"2500", "610", "6100", "6430"})
_CONFIGURATION_ELEMENTS = ("accountref", "taxcoderef", "itemref", "depositto", "paymentmethodref")


@dataclass(frozen=True)
class Fault:
    """One entry of a fault's error list, whichever casing it came in."""

    code: str
    message: str
    detail: str
    element: str
    type: str


def _field(entry: Mapping[str, Any], name: str) -> str:
    return str(entry.get(name) or entry.get(name.lower()) or entry.get(name.capitalize()) or "")


def faults(body: Any) -> list[Fault]:
    """Every error in a fault body (either casing); [] when the body is not a fault."""
    if not isinstance(body, Mapping):
        return []
    fault = body["Fault"] if "Fault" in body else body.get("fault")
    if not isinstance(fault, Mapping):
        return []
    kind = str(fault.get("type") or "")
    entries = answers.objects(fault.get("Error") or fault.get("error"))
    found = [
        Fault(
            code=_field(e, "code"),
            message=_field(e, "Message"),
            detail=_field(e, "Detail"),
            element=_field(e, "element"),
            type=kind,
        )
        for e in entries
    ]
    # A Fault whose error list cannot be read is still a refusal, for no reason QuickBooks gave.
    return found or [Fault("", "", "", "", kind)]


def _sentence(fault: Fault) -> str:
    # QuickBooks' Detail is the useful sentence ("The name supplied already exists. : Another customer...");
    # Message alone is a title ("Duplicate Name Exists Error").
    text = fault.detail or fault.message or "QuickBooks gave no reason."
    return f"{text} (field {fault.element})" if fault.element else text


def fault_error(fault: Fault, noun: str, correlation_id: str = "", status: int | None = None) -> LedgerError:
    """One fault about one object (a whole request's, or one batch item's) → the error kind it calls for."""
    ids: dict[str, Any] = {"correlation_id": correlation_id, "status": status}
    text = _sentence(fault)
    if fault.code == DUPLICATE_DOC_NUMBER:
        return Conflict(f"{NAME} already has this {noun}: {text}", code="duplicate", **ids)
    if fault.code == DUPLICATE_NAME:
        # The match read found the name free (or we picked one that tells namesakes apart): someone took it
        # since, another consumer or app. Going again reads the names afresh and picks another.
        return Retry(f"{NAME} refused the {noun}: {text} {NAME_RACE}", after_s=0, code=NAME_TAKEN, **ids)
    if fault.code == STALE_SYNC_TOKEN:
        # Someone changed the object in QuickBooks since it was read: read it again and go again.
        return Retry(
            f"The {noun} changed in {NAME} while it was being updated; it will be read again and retried.",
            after_s=0,
            code="stale_sync_token",
            **ids,
        )
    if fault.code == THROTTLED:
        return Retry(
            f"{NAME}'s call limit for this company was reached; sending resumes in a minute.",
            after_s=THROTTLE_RETRY_S,
            scope="tenant",
            code="rate_limit",
            **ids,
        )
    if fault.code == SYSTEM_FAULT:
        return Retry(
            f"{NAME} failed while saving the {noun}; it will be checked and tried again.",
            maybe_written=True,
            code="system_fault",
            **ids,
        )
    element = fault.element.lower()
    if fault.code in _REFERENCE_CODES or any(marker in element for marker in _CONFIGURATION_ELEMENTS):
        return NeedsAttention(
            f"{NAME} refused the {noun} because of an account, item or tax setting: {text} "
            "Check the account and tax mappings, then retry.",
            configuration=True,
            code=f"configuration:{fault.code}",
            **ids,
        )
    return NeedsAttention(f"{NAME} refused the {noun}: {text}", code=f"validation:{fault.code}", **ids)


def request_error(
    status: int, body: Any, headers: Mapping[str, str], noun: str = "request", correlation_id: str = ""
) -> LedgerError:
    """A whole request failed: the error for every item in it."""
    ids: dict[str, Any] = {"status": status, "correlation_id": correlation_id}
    found = faults(body)
    first = found[0] if found else Fault("", "", "", "", "")
    if status == 401 and "revoked" in first.detail.lower():
        # "Token revoked": the grant is gone (a revoke ends the whole grant, quickbooks.md 1.1); a refresh
        # would only meet invalid_grant, and Intuit asks not to retry in a loop.
        return Reconnect(
            f"{NAME} no longer accepts LedgerLink's sign-in. Reconnect {NAME}.", code="token_revoked", **ids
        )
    if status == 401:
        # The gateway's lower-case 3200, "Token expired" or a token it cannot read: refresh and go again; if
        # the grant is gone the refresh answers invalid_grant, which is Reconnect (ledgers/oauth.py).
        return TokenExpired(
            f"The {NAME} sign-in had expired; it is being renewed.", after_s=0, code="token_expired", **ids
        )
    if status == 403:
        # 3100 ApplicationAuthorizationFailed: the grant no longer reaches this company, or lacks the scope.
        return Reconnect(
            f"{NAME} refused access to this company (it may have been disconnected). Reconnect {NAME}.",
            code="forbidden",
            **ids,
        )
    if status == 429 or first.code == THROTTLED:
        return Retry(
            f"{NAME}'s call limit for this company was reached; sending resumes when it resets.",
            after_s=http.retry_after(headers) or THROTTLE_RETRY_S,
            scope="tenant",
            code="rate_limit",
            **ids,
        )
    if status == 503:
        # "Service Unavailable": maintenance or the company offline; it speaks for the whole company. It may
        # also come from behind the gateway after the work, so the item is looked up before a resend.
        return Retry(
            f"{NAME} is unavailable for this company just now; it will be tried again.",
            after_s=http.retry_after(headers) or UNAVAILABLE_RETRY_S,
            scope="tenant",
            maybe_written=True,
            code="unavailable",
            **ids,
        )
    if status >= 500:
        return Retry(
            f"{NAME} failed while answering; it will be checked and tried again.",
            after_s=http.retry_after(headers),
            maybe_written=True,
            code=f"server_{status}",
            **ids,
        )
    if found:
        return fault_error(first, noun, correlation_id, status)
    return NeedsAttention(f"{NAME} answered {status} to the {noun}.", code=f"http_{status}", **ids)
