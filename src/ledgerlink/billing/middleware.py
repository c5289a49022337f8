"""Counts API traffic per organisation: standard calls to /api/v1/ per key, and the callbacks the connector
receives (OAuth under /connections/, webhooks under /webhooks/) as exempt. Installed in settings.MIDDLEWARE,
so the cashflow API never imports billing (ARCHITECTURE.md, "API usage metering")."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from ledgerlink.billing import usage
from ledgerlink.billing.models import UsageKind
from ledgerlink.cashflow.models import Membership, Organisation

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
EXEMPT_PREFIXES = {"/connections/": UsageKind.OAUTH_CALLBACK, "/webhooks/": UsageKind.WEBHOOK}
PROVIDERS = {"xero", "quickbooks"}


def exempt_kind(path: str) -> UsageKind | None:
    """The exempt usage kind of a connector callback path, or None for any other path."""
    return next((kind for prefix, kind in EXEMPT_PREFIXES.items() if path.startswith(prefix)), None)


def path_provider(path: str) -> str:
    """The ledger a callback path names (/connections/xero/callback -> "xero"), or "" when it names none."""
    segments = path.split("/")
    return segments[2] if len(segments) > 2 and segments[2] in PROVIDERS else ""


def callback_organisation(request: HttpRequest) -> Organisation | None:
    """Whose callback this was: what the view set on the request, else the signed-in user's only
    organisation."""
    organisation = getattr(request, "ledgerlink_organisation", None)
    if organisation is not None:
        return organisation
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = list(Membership.objects.filter(user=user).select_related("organisation")[:2])
    return memberships[0].organisation if len(memberships) == 1 else None


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
        kind = exempt_kind(path)
        if kind is not None:
            organisation = callback_organisation(request)
            if organisation is not None:
                usage.record_exempt(organisation.pk, kind, provider=path_provider(path))
