"""How each refusal and each injected fault looks at QuickBooks Online (quickbooks.md §6): the
``{"Fault": {"Error": [...], "type": ...}, "time": ...}`` body with string codes, the lower-case gateway 401
``{"fault": {"error": [...]}}`` with ``WWW-Authenticate``, 429 code 3001, and ``intuit_tid`` on every
response (added by the provider). Codes and wordings QBO does not document are choices listed in
docs/sandbox.md.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from ..control.clock import SandboxClock
from ..control.faults import Fault
from ..control.gateway import KeyRequest
from ..control.grants import AccessDenied, format_expired_at
from .errors import LENGTH_MESSAGE, QBOError
from .wire import dumps, local_time

JSON = "application/json;charset=UTF-8"
MAX_REQUEST_ID = 50  # quickbooks.md §4
MAX_BATCH_REQUEST_ID = 36
THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
SYSTEM_MESSAGE = "An application error has occurred while processing your request"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status=status, headers=headers, content_type=JSON)


def fault_response(
    error: QBOError, now: float, zone: str = "UTC", headers: dict[str, str] | None = None
) -> Response:
    body = {"Fault": error.fault(), "time": local_time(now, zone, millis=True)}
    return json_response(body, error.status, headers)


def gateway_401(detail: str) -> Response:
    """The lower-case gateway body (quickbooks.md §6, S44) and the bearer challenge."""
    body = {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        }
    }
    challenge = 'Bearer realm="Intuit", error="invalid_token"'
    return json_response(body, 401, {"WWW-Authenticate": challenge})


def token_expired(expired_at: float | None) -> Response:
    return gateway_401(f"Token expired: {format_expired_at(expired_at or 0)} UTC")


def forbidden(now: float, detail: str = "The app is not connected to this company.") -> Response:
    """403 code 3100: a realm the token cannot reach, or no accounting scope (quickbooks.md §10 item 5)."""
    error = QBOError(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
        status=403,
        type="AuthorizationFault",
    )
    return fault_response(error, now)


def throttled(retry_after_s: int | None, detail: str, now: float, zone: str = "UTC") -> Response:
    """429 with code 3001 in an upper-case Fault, so python-quickbooks raises it with its code; Retry-After
    in real seconds, which Intuit does not document but a time-scaled benchmark needs (trap 7)."""
    error = QBOError("3001", THROTTLE_MESSAGE, detail, status=429, type="ThrottleExceeded")
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return fault_response(error, now, zone, headers)


SYSTEM_FAULT = QBOError("10000", SYSTEM_MESSAGE, SYSTEM_MESSAGE, status=500, type="SystemFault")
MAINTENANCE = QBOError(
    "10000",
    "Service Unavailable",
    "QuickBooks Online is unavailable for maintenance.",
    status=503,
    type="SystemFault",
)
OFFLINE = QBOError(
    "10000", "Service Unavailable", "This company is temporarily unavailable.", status=503, type="SystemFault"
)
PROBLEMS = {
    "minute": "More than 500 requests a minute for this company.",
    "concurrent": "More than 10 requests in flight for this company and app.",
    "batch_app": "More than 40 batch requests a minute for this company and app.",
    "batch": "More than 120 batch requests a minute for this company.",
}


class QuickBooksRenderer:
    """The gateway's refusals in QBO's shapes (control.gateway.WireRenderer); ``time`` is sandbox time."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock

    def denied(self, denied: AccessDenied) -> Response:
        if denied.reason == "expired":
            return token_expired(denied.expired_at)
        if denied.reason == "revoked":
            return gateway_401("Token revoked")
        return gateway_401("Malformed bearer token: too short or too long")

    def forbidden(self) -> Response:
        return forbidden(self.clock.now())

    def rate_limited(self, problem: str, retry_after_s: int | None) -> Response:
        return throttled(retry_after_s, PROBLEMS.get(problem, problem), self.clock.now())

    def fault(self, kind: Fault, retry_after_s: int, now: float) -> Response:
        if kind is Fault.SERVER_ERROR:
            return fault_response(SYSTEM_FAULT, now)
        if kind is Fault.MAINTENANCE:
            return fault_response(MAINTENANCE, now)
        if kind is Fault.OFFLINE:
            return fault_response(OFFLINE, now)
        if kind is Fault.RATE_LIMIT:
            return throttled(retry_after_s, "Injected throttle.", now)
        if kind is Fault.TOKEN_EXPIRED:
            return token_expired(now)
        assert kind is Fault.TOKEN_REVOKED, kind
        return gateway_401("Token revoked")

    def bad_request(self, message: str) -> Response:
        return fault_response(
            QBOError("2010", "Request has invalid or unsupported property", message), self.clock.now()
        )

    def acceptable(self, request: Request) -> Response | None:
        """QBO answers XML unless asked for JSON; the sandbox speaks JSON only, so it refuses instead."""
        if "json" in request.headers.get("Accept", "").lower():
            return None
        detail = "This sandbox answers JSON only: send 'Accept: application/json' (QBO would answer XML)."
        return fault_response(QBOError("500", "Unsupported Operation", detail, status=406), self.clock.now())

    def remaining(self, response: Response, remaining: dict[str, int]) -> None:
        """QBO sends no remaining-budget headers."""

    def idempotency(self, request: Request) -> KeyRequest | None:
        """``?requestid=`` on any call, unique per company; a repeat replays the first answer whatever is
        sent with it (quickbooks.md §4). At most 50 characters, 36 on /batch."""
        key = request.args.get("requestid")
        if key is None:
            return None
        limit = (
            MAX_BATCH_REQUEST_ID if request.path.rstrip("/").lower().endswith("/batch") else MAX_REQUEST_ID
        )
        refusal = None
        if len(key) > limit:
            detail = f"requestid must be at most {limit} characters."
            error = QBOError("2050", LENGTH_MESSAGE, detail, element="requestid")
            refusal = fault_response(error, self.clock.now())
        return KeyRequest(key, per_tenant=True, compare_request=False, refusal=refusal)
