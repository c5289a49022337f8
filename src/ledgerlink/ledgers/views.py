"""Connection screens beside the OAuth flow: disconnect and refresh the chart. (The invoice preview is a
web page: it needs the sync engine's documents, which ledgers must not import.)"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers import connections
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.ledgers.models import Connection
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


@login_required
@require_POST
def reload_chart(request: HttpRequest, provider: str) -> HttpResponse:
    """Load the ledger's accounts, tax rates and tracking categories again (admins only)."""
    found = _admin_connection(request, provider)
    if found is None:
        return page(request, "Reload", "Only an administrator of the organisation can do this.", 403)
    try:
        snapshot = refresh_chart(found[1])
    except LedgerError as exc:
        return page(request, "Reload", exc.message, 502)
    return page(
        request, "Reloaded", f"{len(snapshot.accounts)} accounts and {len(snapshot.tax_rates)} tax rates."
    )
