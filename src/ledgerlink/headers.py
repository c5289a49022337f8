"""Security headers on every response: a Content-Security-Policy with a fresh nonce per request, and a
Permissions-Policy. (Django's SecurityMiddleware already sends nosniff, Referrer-Policy, COOP and, in
production, HSTS; XFrameOptionsMiddleware sends X-Frame-Options.)

Pages load scripts and styles from our own origin only; an inline <script> or <style> must carry
`nonce="{{ csp_nonce }}"`; inline event handlers and style attributes are refused. Forms may post to us and
to the ledgers' sign-in pages, because connecting is a POST that redirects there (browsers hold redirects
after a form submission to `form-action`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def form_targets() -> list[str]:
    """'self' and the origin of every ledger's authorize URL (settings `*_AUTHORIZE_URL`)."""
    origins = {
        _origin(str(getattr(settings, name))) for name in dir(settings) if name.endswith("_AUTHORIZE_URL")
    }
    return ["'self'", *sorted(o for o in origins if o)]


def policy(nonce: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": f"'self' 'nonce-{nonce}'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": " ".join(form_targets()),
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """Gives each request `csp_nonce` and each response the policy (unless a view set its own)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy(nonce))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Template context processor: `{{ csp_nonce }}` for the few inline blocks we keep."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
