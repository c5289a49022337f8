"""The one place a request goes to a ledger: sent, timed, logged (allowlisted fields only) and, when the
transport fails, classified by what it means for a write.

- Could not connect (DNS, refused, connect timeout): the request never left, so `Retry`.
- Timed out reading, or the connection dropped after the request was written: the ledger may have committed
  it, so `UnknownOutcome` (the engine replays the same idempotency key). A read-only method is harmless to
  resend, so for GET those are `Retry` too.

No automatic resend happens here (`max_retries=0`): urllib3's default retry silently re-sends a PUT after a
dropped connection (real-clients.md, trap 1), which is exactly the duplicate this project must never make.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests
from django.dispatch import Signal
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ledgerlink.ledgers.contract import LedgerResponse, RateBudget
from ledgerlink.ledgers.errors import LedgerError, Retry, UnknownOutcome
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.ledgers.signals import ledger_call_made, rate_budget_reported

logger = logging.getLogger("ledgerlink.ledgers.http")

CONNECT_TIMEOUT_S = 5.0
# How long a call may take to answer. Keep it well under LEDGERLINK_SYNC_LEASE_S (a live worker's lease must
# outlast its call); the reliability campaign lowers it so its "slower than the timeout" faults cost seconds.
READ_TIMEOUT_S = float(os.environ.get("LEDGERLINK_LEDGER_READ_TIMEOUT_S", "30"))
# No ledger answer we read comes near this; a longer body is a hostile or broken peer, and reading it all
# would hold a worker's memory hostage.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread (requests.Session is not documented as thread-safe). It does not
    read the environment on each request (`_environment` does, once per origin); nor ~/.netrc, whose
    credentials would replace the bearer token a ledger call carries."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False
        adapter = HTTPAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


@functools.lru_cache(maxsize=64)
def _environment(origin: str) -> tuple[dict[str, str], bool | str]:
    """The proxies (HTTPS_PROXY, NO_PROXY, ...) and CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) the
    environment names for `origin` ("https://ledger.example"), as requests would find them: read once per
    origin, where requests read them again on every request (a twentieth of a backfill's CPU)."""
    proxies = requests.utils.get_environ_proxies(origin)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return proxies, bundle or True


BudgetReader = Callable[[Mapping[str, str]], RateBudget]


@dataclass(frozen=True)
class CallContext:
    """Who a call is for, for the log line and the `ledger_call_made` signal; and, for calls to a tenant's
    books, how the provider reads its rate budget off an answer (`rate_budget_reported`)."""

    organisation_id: str
    provider: str
    correlation_header: str = ""  # the response header carrying the ledger's request id
    tenant_id: str = ""
    read_budget: BudgetReader | None = None


@dataclass(frozen=True)
class HttpExchange:
    """A response that came back, whatever its status."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed_ms: float
    correlation_id: str = ""
    content_type: str = field(default="")
    budget: RateBudget = field(default_factory=RateBudget)  # what the answer said of the rate budget

    def json(self) -> Any:
        """The body as JSON with every number as Decimal (money never passes through float); None if the
        body is not JSON (a ledger's gateway may answer in plain text)."""
        try:
            return json.loads(self.content, parse_float=Decimal)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in seconds (a non-negative number), or None when absent or unreadable."""
    try:
        value = Decimal(headers.get("Retry-After", "").strip())
    except ArithmeticError:
        return None
    return float(value) if value.is_finite() and value >= 0 else None


RequestError = Callable[[int, Any, Mapping[str, str], str, str], LedgerError]


def body_or_raise(response: LedgerResponse, noun: str, request_error: RequestError) -> Any:
    """A read that must succeed: its parsed body, or the provider's error for the whole request raised."""
    if response.status != 200:
        raise request_error(response.status, response.body, response.headers, noun, response.correlation_id)
    return response.body


def ledger_response(exchange: HttpExchange) -> LedgerResponse:
    """An exchange as the contract's response: the body parsed (Decimals), or its text when not JSON."""
    parsed = exchange.json()
    return LedgerResponse(
        status=exchange.status,
        body=parsed if parsed is not None else exchange.text,
        headers=exchange.headers,
        elapsed_ms=exchange.elapsed_ms,
        correlation_id=exchange.correlation_id,
        budget=exchange.budget,
    )


# --- JSON out, with Decimal as an exact number ------------------------------------------------------------

_DECIMAL_MARK = f"__ledgerlink_decimal_{secrets.token_hex(8)}__"


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}{_DECIMAL_MARK}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(body: object) -> bytes:
    """Serialise a wire body, writing each Decimal as the exact number it is ("110.00", never a float's
    110.0000000001). The marker is random per process, so no user text can forge it."""
    text = json.dumps(body, default=_mark_decimal, ensure_ascii=False, separators=(",", ":"))
    text = text.replace(f'"{_DECIMAL_MARK}', "").replace(f'{_DECIMAL_MARK}"', "")
    return text.encode()


# --- Sending --------------------------------------------------------------------------------------------


def send(
    context: CallContext,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    content: bytes | None = None,
    form: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> HttpExchange:
    """Send one request and return what came back, any status. Raises `Retry` or `UnknownOutcome` when no
    response arrived (see the module docstring)."""
    method = method.upper()
    parts = urlsplit(url)
    path = parts.path
    proxies, verify = _environment(f"{parts.scheme}://{parts.netloc}")
    sent_at, started = time.time(), time.perf_counter()
    try:
        response = _session().request(
            method,
            url,
            headers=dict(headers or {}),
            params=dict(params or {}),
            data=content if content is not None else form,
            auth=auth,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            allow_redirects=False,
            proxies=proxies,
            verify=verify,
            stream=True,  # the body is read below, up to MAX_RESPONSE_BYTES
        )
        body = _bounded_body(response)
    except requests.RequestException as exc:
        elapsed_ms = (time.perf_counter() - started) * 1000
        _record(context, method, path, 0, elapsed_ms, "")
        raise _classify(exc, context, method) from exc
    elapsed_ms = (time.perf_counter() - started) * 1000
    if body is None:
        _record(context, method, path, response.status_code, elapsed_ms, "")
        raise _too_large(context, method)
    header = context.correlation_header
    correlation_id = response.headers.get(header, "") if header else ""
    _record(context, method, path, response.status_code, elapsed_ms, correlation_id)
    budget = context.read_budget(response.headers) if context.read_budget else RateBudget()
    _report_budget(context, budget, response.status_code, (sent_at, sent_at + elapsed_ms / 1000))
    return HttpExchange(
        status=response.status_code,
        headers=response.headers,
        content=body,
        elapsed_ms=elapsed_ms,
        correlation_id=correlation_id,
        content_type=response.headers.get("Content-Type", ""),
        budget=budget,
    )


def _report_budget(context: CallContext, budget: RateBudget, status: int, times: tuple[float, float]) -> None:
    """Every answer's word on the rate budget leaves from here, so the engine's limiter hears all of them
    (reads inside a look-up, setup calls, refusals), not only the ones a worker happens to hold."""
    if not context.tenant_id or not budget.says_anything:
        return
    _announce(
        rate_budget_reported,
        provider=context.provider,
        tenant_id=context.tenant_id,
        budget=budget,
        status=status,
        sent_at=times[0],
        received_at=times[1],
    )


def _announce(signal: Signal, **details: Any) -> None:
    """Send `signal` to every receiver; one that fails is logged (by name only) and never breaks a call."""
    for receiver, result in signal.send_robust(sender=None, **details):
        if isinstance(result, Exception):
            logger.error("ledger signal receiver %r failed: %s", receiver, type(result).__name__)


def _bounded_body(response: requests.Response) -> bytes | None:
    """The whole body, or None (connection closed) once it passes MAX_RESPONSE_BYTES."""
    chunks: list[bytes] = []
    size = 0
    with response:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _no_usable_answer(
    context: CallContext, method: str, what: str, codes: tuple[str, str]
) -> Retry | UnknownOutcome:
    """The request left but no answer can be used (`what` happened): a read is simply tried again, a
    write may have been saved and is checked first. `codes`: (for a read, for a write)."""
    name = provider_name(context.provider)
    if method in SAFE_METHODS:
        return Retry(f"{name} {what}. It will be tried again.", code=codes[0])
    return UnknownOutcome(
        f"{name} {what} after the request was sent; it may have been saved. "
        "It will be checked before anything is sent again.",
        code=codes[1],
    )


def _too_large(context: CallContext, method: str) -> Retry | UnknownOutcome:
    return _no_usable_answer(context, method, "sent an answer too large to read", ("too_large", "too_large"))


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, NewConnectionError | ConnectTimeoutError):
            return True
        reason = getattr(cause, "reason", None)  # urllib3's MaxRetryError wraps the real error here
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
    return False


def _classify(exc: requests.RequestException, context: CallContext, method: str) -> Retry | UnknownOutcome:
    name = provider_name(context.provider)
    if _never_sent(exc):
        return Retry(f"Could not reach {name}; nothing was sent. It will be tried again.", code="unreachable")
    if method in SAFE_METHODS:  # the read's own sentence says "in time"
        return Retry(f"{name} did not answer in time. It will be tried again.", code="read_failed")
    return _no_usable_answer(context, method, "did not answer", ("read_failed", "no_response"))


def _record(
    context: CallContext, method: str, path: str, status: int, elapsed_ms: float, correlation_id: str
) -> None:
    # Allowlisted fields only: no headers, no query (a where= filter can hold an email), no body.
    logger.info(
        "ledger call %s %s %s -> %s in %.0f ms",
        context.provider,
        method,
        path,
        status,
        elapsed_ms,
        extra={
            "organisation_id": context.organisation_id,
            "provider": context.provider,
            "status": status,
            "correlation_id": correlation_id,
        },
    )
    _announce(
        ledger_call_made,
        organisation_id=context.organisation_id,
        provider=context.provider,
        method=method,
        path=path,
        status=status,
        elapsed_ms=round(elapsed_ms, 1),
        correlation_id=correlation_id,
        calls=1,
    )
