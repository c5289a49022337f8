"""The only place that reads Xero's error bodies (xero.md section 6) and names them by what happens next.

Three body shapes meet here: the 400 `ValidationException` envelope (and per-element `ValidationErrors` in
summarizeErrors=false answers), the problem-details JSON of 401/403 (`Detail`), and plain-text 503s.
Messages shown to users are Xero's own sentence in a plain frame; raw bodies are never put in exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerlink.ledgers import http
from ledgerlink.ledgers.answers import objects
from ledgerlink.ledgers.errors import (
    NAME_RACE,
    Conflict,
    LedgerError,
    NeedsAttention,
    Reconnect,
    Retry,
    TokenExpired,
)

# Xero's guidance for "The Organisation is offline": it lasts minutes; retry after about 5 (xero.md 6).
ORGANISATION_OFFLINE_RETRY_S = 300.0
MAINTENANCE_RETRY_S = 60.0
IN_FLIGHT_RETRY_S = 5.0

# Substrings of validation messages (lower-cased) that a mapping change can fix (xero.md 6, "Typical
# validation messages"): unknown/archived account, account missing, tax code problems, tracking options,
# and accounts that cannot take payments.
_CONFIGURATION_MARKERS = (
    "account code",
    "account must be valid",
    "account code or id",
    "accountid",
    "taxtype",
    "tax rate",
    "tax type",
    "tracking",
    "account type is invalid",
    "payments to this account",
    "cannot be used for payments",
)


def _messages(entries: Any) -> list[str]:
    return [str(e.get("Message", "")).strip() for e in objects(entries) if e.get("Message")]


def element_messages(element: Mapping[str, Any]) -> list[str]:
    """Every validation message on an element, its lines' included (line errors sit in LineItems[i])."""
    found = _messages(element.get("ValidationErrors"))
    for line in objects(element.get("LineItems")):
        found += _messages(line.get("ValidationErrors"))
    return list(dict.fromkeys(found))  # de-duplicated, order kept


def element_warnings(element: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_messages(element.get("Warnings")))


def validation_error(messages: list[str], noun: str, correlation_id: str = "") -> LedgerError:
    """Validation messages about one element → the error kind they call for."""
    text = " ".join(messages) or "Xero gave no reason."
    lowered = text.lower()
    if "contact name" in lowered and "already assigned" in lowered:
        # The match read found the name free (or we picked one that tells namesakes apart): someone took it
        # since, another consumer or app. Going again reads the names afresh and picks another.
        return Retry(
            f"Xero refused the {noun}: {text} {NAME_RACE}",
            after_s=0,
            code="contact_name_taken",
            correlation_id=correlation_id,
        )
    if "must be unique" in lowered or ("contact number" in lowered and "already assigned" in lowered):
        # "Invoice # must be unique." / a ContactNumber already used: the object is already in Xero.
        return Conflict(
            f"Xero already has this {noun}: {text}", code="duplicate", correlation_id=correlation_id
        )
    if any(marker in lowered for marker in _CONFIGURATION_MARKERS):
        return NeedsAttention(
            f"Xero refused the {noun} because of an account or tax setting: {text} "
            "Check the account and tax mappings, then retry.",
            configuration=True,
            code="configuration",
            correlation_id=correlation_id,
        )
    return NeedsAttention(
        f"Xero refused the {noun}: {text}", code="validation", correlation_id=correlation_id
    )


def request_error(
    status: int, body: Any, headers: Mapping[str, str], noun: str = "request", correlation_id: str = ""
) -> LedgerError:
    """A whole request failed: the error for every item in it. `body` is parsed JSON, or text when Xero
    answered plain text (503s)."""
    ids: dict[str, Any] = {"status": status, "correlation_id": correlation_id}
    detail = str(body.get("Detail", "")) if isinstance(body, Mapping) else ""
    text = body if isinstance(body, str) else ""
    if status == 400 and isinstance(body, Mapping):
        elements = objects(body.get("Elements"))
        messages = element_messages(elements[0]) if elements else []
        messages = messages or [str(body.get("Message", ""))]
        return validation_error(messages, noun, correlation_id)
    if status == 401 and detail.startswith("TokenExpired"):
        # The engine refreshes before each send; this only happens on clock skew. Refresh and go again.
        return TokenExpired(
            "The Xero sign-in had expired; it is being renewed.", after_s=0, code="token_expired", **ids
        )
    if status == 401:
        # AuthorizationUnsuccessful with a fresh token: revoked or missing a scope; a refresh cannot fix it.
        return Reconnect(
            "Xero no longer accepts LedgerLink's sign-in. Reconnect Xero.", code="unauthorized", **ids
        )
    if status == 403:
        # AuthenticationUnsuccessful: tenant disconnected, organisation deleted or its trial ended.
        return Reconnect(
            "Xero refused access to this organisation (it may have been disconnected). Reconnect Xero.",
            code="forbidden",
            **ids,
        )
    if status == 404:
        return NeedsAttention(
            f"Xero could not find the {noun}'s target; it may have been deleted in Xero.",
            code="not_found",
            **ids,
        )
    if status == 429:
        problem = headers.get("X-Rate-Limit-Problem", "").lower() or "unknown"
        # Without Retry-After a 429 is the in-flight cap (xero.md 5 gives the minute and day limits a
        # Retry-After), which frees within seconds.
        return Retry(
            f"Xero's {problem} call limit was reached; sending resumes when it resets.",
            after_s=http.retry_after(headers) or IN_FLIGHT_RETRY_S,
            scope="tenant",
            code=f"rate_limit:{problem}",
            **ids,
        )
    if status == 503 and "organisation is offline" in text.lower():
        return Retry(
            "The Xero organisation is offline for a few minutes; it will be tried again.",
            after_s=http.retry_after(headers) or ORGANISATION_OFFLINE_RETRY_S,
            scope="tenant",
            code="organisation_offline",
            **ids,
        )
    if status == 503:  # maintenance, answered at the gateway: nothing was written, nobody gets through
        return Retry(
            "Xero is down for maintenance; it will be tried again.",
            after_s=http.retry_after(headers) or MAINTENANCE_RETRY_S,
            scope="tenant",
            code="maintenance",
            **ids,
        )
    if status >= 500:
        # Xero may fail after committing, and caches that answer under the key: look it up next time
        # instead of replaying (xero.md section 4).
        return Retry(
            "Xero is unavailable just now; it will be tried again.",
            after_s=http.retry_after(headers),
            maybe_written=True,
            code=f"server_{status}",
            **ids,
        )
    return NeedsAttention(f"Xero answered {status} to the {noun}.", code=f"http_{status}", **ids)
