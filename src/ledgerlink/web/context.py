"""What every page shows around its content: the organisation the page is about (from its URL, through the
one membership check), the switcher to the user's other organisations, and what needs the user: a ledger to
reconnect, invoices that wait for a fix."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from ledgerlink.cashflow import access
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync.models import SyncRecord, SyncState


def attention(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = _current_membership(request)
    # Banners speak of the page's organisation only; pages without one (the list) speak of all of the user's.
    scope = {"organisation": current.organisation} if current else {"organisation__memberships__user": user}
    reconnect = Connection.objects.filter(status=ConnectionStatus.NEEDS_RECONNECT, **scope).select_related(
        "organisation"
    )
    waiting = SyncRecord.objects.filter(state=SyncState.NEEDS_ATTENTION, **scope).count()
    return {
        "banner_reconnect": list(reconnect),
        "banner_attention": waiting,
        "current_membership": current,
        "current_organisation": current.organisation if current else None,
        "switch_to": _switcher(request, current) if current else [],
    }


def _current_membership(request: HttpRequest) -> Any:
    match = getattr(request, "resolver_match", None)
    organisation_id = match.kwargs.get("organisation_id") if match else None
    return access.membership(request.user, organisation_id) if organisation_id else None


def _switcher(request: HttpRequest, current: Any) -> list[tuple[str, str]]:
    """(name, URL) per other organisation: the same page there when it needs nothing but the organisation
    (invoices stay invoices), else that organisation's overview. Never a page of an invoice that belongs
    to the organisation being left."""
    match = request.resolver_match
    same_page = match is not None and set(match.kwargs) == {"organisation_id"}
    links = []
    for membership in access.memberships(request.user):
        if membership.organisation_id == current.organisation_id:
            continue
        kwargs = {"organisation_id": membership.organisation_id}
        try:
            url = reverse(match.view_name, kwargs=kwargs) if same_page and match else ""
        except NoReverseMatch:
            url = ""
        links.append((membership.organisation.name, url or reverse("web:organisation", kwargs=kwargs)))
    return links
