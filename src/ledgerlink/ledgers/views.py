"""Connection screens beside the OAuth flow: disconnect, the page a user lands on after disconnecting from
the ledger's side, and refresh the chart. (The invoice preview is a web page: it needs the sync engine's
documents, which ledgers must not import.)"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers import connections
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.errors import LedgerError, Reconnect
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.ledgers.oauth_views import page
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.ledgers.registry import LEDGERS


def _admin_connection(request: HttpRequest, provider: str) -> tuple[Organisation, Connection] | None:
    if provider not in LEDGERS:
        raise Http404("No such ledger.")
    organisation = access.admin_organisation(request.user, request.POST.get("organisation", ""))
    if organisation is None:
        return None
    connection = connections.live_connection(organisation)
    if connection is None or connection.provider != provider:
        raise Http404("No such connection.")
    return organisation, connection


@login_required
@require_POST
def disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    """Disconnect (admins only): revoked at the ledger, history and mappings kept."""
    found = _admin_connection(request, provider)
    if found is None:
        return page(request, "Disconnect", "Only an administrator of the organisation can disconnect.", 403)
    _, connection = found
    note = connections.disconnect(connection)
    return page(
        request, "Disconnected", note or f"{provider_name(provider)} is disconnected. Mappings are kept."
    )


@dataclass(frozen=True)
class LandingRow:
    """One of the signed-in user's organisations on the disconnect landing page."""

    organisation: Organisation
    connection: Connection | None  # its connection to this ledger, if it has one that is not disconnected
    still_connected: bool
    is_admin: bool


@require_GET
def disconnected(request: HttpRequest, provider: str) -> HttpResponse:
    """Where the ledger sends a user who disconnected LedgerLink on its side (Intuit's "disconnect URL",
    certification.md 4.4/5.3): say the link is ended and how to reconnect. Anyone may open it (Intuit sends
    the browser as it is, signed in or not) and a link can be forged, so the visit itself changes nothing:
    for each of the user's organisations on this ledger it asks the ledger whether the grant still holds
    (`connections.confirm_grant`), and only the ledger's refusal marks a connection needs_reconnect, which
    holds its queue paused and keeps history and mappings."""
    if provider not in LEDGERS:
        raise Http404("No such ledger.")
    name = provider_name(provider)
    context: dict[str, object] = {"title": f"{name} is disconnected", "name": name, "provider": provider}
    if not request.user.is_authenticated:
        next_url = urlencode({"next": request.get_full_path()})
        return render(
            request, "ledgers/disconnected.html", {**context, "login_url": f"{settings.LOGIN_URL}?{next_url}"}
        )
    rows: list[LandingRow] = []
    for membership in access.memberships(request.user):
        connection = connections.live_connection(membership.organisation)
        if connection is not None and connection.provider != provider:
            continue  # connected to the other ledger: nothing to say about this one
        still = connection is not None and connections.confirm_grant(connection)
        if connection is not None:
            connection.refresh_from_db()
        rows.append(LandingRow(membership.organisation, connection, still, membership.is_admin))
    context["rows"] = rows
    context["any_lost"] = any(
        row.connection is not None and row.connection.status == ConnectionStatus.NEEDS_RECONNECT
        for row in rows
    )
    return render(request, "ledgers/disconnected.html", context)


@login_required
@require_POST
def reload_chart(request: HttpRequest, provider: str) -> HttpResponse:
    """Load the ledger's accounts, tax rates and tracking categories again (admins only)."""
    found = _admin_connection(request, provider)
    if found is None:
        return page(request, "Reload", "Only an administrator of the organisation can do this.", 403)
    try:
        snapshot = refresh_chart(found[1])
    except Reconnect as exc:
        # The grant was ended on the ledger's side: the connection says so now, not at the next invoice.
        connections.mark_needs_reconnect(found[1], exc.message)
        return page(request, "Reload", exc.message, 502)
    except LedgerError as exc:
        return page(request, "Reload", exc.message, 502)
    return page(
        request, "Reloaded", f"{len(snapshot.accounts)} accounts and {len(snapshot.tax_rates)} tax rates."
    )
