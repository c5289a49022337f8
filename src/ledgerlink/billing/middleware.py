"""Counts API traffic per organisation: standard calls to /api/v1/ per key, and the callbacks the connector
receives (the OAuth callbacks under /connections/) as exempt. Installed in settings.MIDDLEWARE,
so the cashflow API never imports billing (ARCHITECTURE.md, "API usage metering")."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from ledgerlink.billing import access, usage
from ledgerlink.billing.models import UsageKind
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.providers import PROVIDERS

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
# The connector's inbound traffic: the ledger's OAuth redirect back to us. The other
# pages under /connections/ (connect, pick a tenant, preview) are the web UI, not API traffic: not counted.
EXEMPT_PATHS = [
    (re.compile(r"^/connections/(?P<provider>[^/]+)/callback/?$"), UsageKind.OAUTH_CALLBACK),
]


def exempt_callback(path: str) -> tuple[str, str] | None:
    """(kind, provider) when `path` is a callback the connector receives, else None."""
    for pattern, kind in EXEMPT_PATHS:
        match = pattern.match(path)
        if match:
            provider = match["provider"]
            return kind, provider if provider in PROVIDERS else ""
    return None


def callback_organisation(request: HttpRequest) -> Organisation | None:
    """Whose callback this was: what the view set on the request, else the signed-in user's chosen (or only)
    organisation. An exempt call nobody can be named for is not counted."""
    return getattr(request, "ledgerlink_organisation", None) or access.chosen_organisation(request)


class UsageMeteringMiddleware:
    """Counts after the view ran, so the view's authentication has told us the organisation and key."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            self._count(request)
        except DatabaseError:
            # The response (and whatever the view committed) stands; a lost count must not turn it into a 500.
            logger.exception("usage metering failed for %s", request.path_info)
        return response

    def _count(self, request: HttpRequest) -> None:
        path = request.path_info
        if path.startswith(API_PREFIX):
            organisation = getattr(request, "ledgerlink_organisation", None)
            if organisation is not None:
                api_key = getattr(request, "ledgerlink_api_key", None)
                usage.record_api_call(organisation, api_key.pk if api_key is not None else None)
            return
        callback = exempt_callback(path)
        if callback is not None:
            organisation = callback_organisation(request)
            if organisation is not None:
                usage.record_exempt(organisation.pk, callback[0], provider=callback[1])
