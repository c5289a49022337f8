"""How each refusal and each injected fault looks at Xero: status, body and headers (xero.md §6).

The 401/403 problem-details JSON, the 400 ``ValidationException`` envelope, plain-text 503s, the 429 with
``X-Rate-Limit-Problem``/``Retry-After``. Bodies Xero does not document (429, 500, 404, idempotency-key
mismatch) are the sandbox's choice, listed in docs/sandbox.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from ..control.faults import Fault
from ..control.gateway import KeyRequest
from ..control.grants import AccessDenied, format_expired_at
from .wire import dumps, render

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
SERVER_ERROR_TEXT = (
    "An error occurred in Xero. Check the API Status page http://status.developer.xero.com for current "
    "service status."
)
MAINTENANCE_TEXT = "The Xero API is currently offline for maintenance"
OFFLINE_TEXT = "The Organisation is offline"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
MAX_IDEMPOTENCY_KEY = 128
# X-Rate-Limit-Problem values with a Retry-After (observed at Xero); `concurrent`/`appminute` are chosen here.
TIMED_PROBLEMS = frozenset({"minute", "day"})


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status=status, headers=headers, content_type=JSON)


def text_response(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status=status, headers=headers, content_type=TEXT)


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    """Xero's gateway error shape for 401/403 (xero.md §6)."""
    body: dict[str, Any] = {"Type": None, "Title": title, "Status": status, "Detail": detail}
    body.update(Instance=str(uuid.uuid4()), Extensions={})
    return json_response(body, status, headers)


def token_expired(expired_at: float | None) -> Response:
    detail = "TokenExpired: token expired at " + format_expired_at(expired_at or 0)
    return problem(401, "Unauthorized", detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def authorization_unsuccessful(insufficient_scope: bool = False) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'} if insufficient_scope else None
    return problem(401, "Unauthorized", "AuthorizationUnsuccessful", headers)


def authentication_unsuccessful() -> Response:
    return problem(403, "Forbidden", "AuthenticationUnsuccessful")


def not_found() -> Response:
    return text_response(NOT_FOUND_TEXT, 404)


def validation_exception(
    elements: list[dict[str, Any]], message: str = "A validation exception occurred"
) -> Response:
    """400 with every refused element echoed back with its ValidationErrors (xero.md §6)."""
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
        "Elements": render(elements),
    }
    return json_response(body, 400)


def bad_request(message: str) -> Response:
    """A request-level 400 in the same envelope, one element carrying the message (xero-python reads it)."""
    return validation_exception([{"ValidationErrors": [{"Message": message}]}], message)


def rate_limited(problem_kind: str, retry_after_s: int | None) -> Response:
    headers = {"X-Rate-Limit-Problem": problem_kind}
    if problem_kind in TIMED_PROBLEMS and retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    return text_response(f"Rate limit exceeded: {problem_kind}", 429, headers)


def not_acceptable() -> Response:
    return text_response(
        "This sandbox answers JSON only: send 'Accept: application/json' (Xero would answer XML).", 406
    )


def render_fault(kind: Fault, retry_after_s: int, expired_at: float | None = None) -> Response | None:
    """The response an injected fault produces; None for faults that are not a response (drop, latency)."""
    if kind is Fault.SERVER_ERROR:
        return text_response(SERVER_ERROR_TEXT, 500)
    if kind is Fault.MAINTENANCE:
        return text_response(MAINTENANCE_TEXT, 503)
    if kind is Fault.OFFLINE:
        return text_response(OFFLINE_TEXT, 503)
    if kind is Fault.RATE_LIMIT:
        return rate_limited("minute", retry_after_s)
    if kind is Fault.TOKEN_EXPIRED:
        return token_expired(expired_at)
    if kind is Fault.TOKEN_REVOKED:
        return authorization_unsuccessful()
    return None


class XeroRenderer:
    """The gateway's refusals in Xero's shapes (control.gateway.WireRenderer)."""

    def denied(self, denied: AccessDenied) -> Response:
        if denied.reason == "expired":
            return token_expired(denied.expired_at)
        return authorization_unsuccessful()

    def forbidden(self) -> Response:
        return authentication_unsuccessful()

    def rate_limited(self, problem_kind: str, retry_after_s: int | None) -> Response:
        return rate_limited(problem_kind, retry_after_s)

    def fault(self, kind: Fault, retry_after_s: int, now: float) -> Response:
        response = render_fault(kind, retry_after_s, now)
        assert response is not None, kind
        return response

    def bad_request(self, message: str) -> Response:
        return bad_request(message)

    def acceptable(self, request: Request) -> Response | None:
        """Xero answers XML unless asked for JSON; the sandbox speaks JSON only, so it refuses instead."""
        return None if "json" in request.headers.get("Accept", "").lower() else not_acceptable()

    def remaining(self, response: Response, remaining: dict[str, int]) -> None:
        response.headers["X-DayLimit-Remaining"] = str(remaining["per_day"])
        response.headers["X-MinLimit-Remaining"] = str(remaining["per_minute"])
        response.headers["X-AppMinLimit-Remaining"] = str(remaining["app_per_minute"])

    def idempotency(self, request: Request) -> KeyRequest | None:
        """``Idempotency-Key`` on PUT/POST, per app; reuse on a different request is refused (xero.md §4)."""
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in ("PUT", "POST"):
            return None
        if len(key) > MAX_IDEMPOTENCY_KEY:
            message = f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters."
            return KeyRequest(key, refusal=bad_request(message))
        return KeyRequest(key)
