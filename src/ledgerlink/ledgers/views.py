"""Connection screens beside the OAuth flow: disconnect, refresh the chart, and the invoice preview."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from ledgerlink.cashflow.models import Invoice
from ledgerlink.ledgers import connections
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.errors import LedgerError
from ledgerlink.ledgers.http import json_bytes
from ledgerlink.ledgers.oauth import page
from ledgerlink.ledgers.preview import preview_invoice
from ledgerlink.ledgers.registry import LEDGERS


def _admin_connection(request: HttpRequest, provider: str) -> tuple[object, object] | None:
    if provider not in LEDGERS:
        raise Http404("No such ledger.")
    organisation = connections.admin_organisation(request.user, request.POST.get("organisation", ""))
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
    note = connections.disconnect(connection)  # type: ignore[arg-type]
    return page(request, "Disconnected", note or f"{provider.title()} is disconnected. Mappings are kept.")


@login_required
@require_POST
def reload_chart(request: HttpRequest, provider: str) -> HttpResponse:
    """Load the ledger's accounts, tax rates and tracking categories again (admins only)."""
    found = _admin_connection(request, provider)
    if found is None:
        return page(request, "Reload", "Only an administrator of the organisation can do this.", 403)
    try:
        snapshot = refresh_chart(found[1])  # type: ignore[arg-type]
    except LedgerError as exc:
        return page(request, "Reload", exc.message, 502)
    return page(
        request, "Reloaded", f"{len(snapshot.accounts)} accounts and {len(snapshot.tax_rates)} tax rates."
    )


@login_required
@require_GET
def preview(request: HttpRequest, provider: str, invoice_id: str) -> HttpResponse:
    """The exact ledger body for one of the user's organisations' invoices, as JSON (?format=json, or an
    Accept: application/json request) or as a page."""
    if provider not in LEDGERS:
        raise Http404("No such ledger.")
    # The document builder and remote links are the sync engine's; this screen moves to web/ with the
    # web issue, which may import both layers.
    from ledgerlink.sync.documents import invoice_document
    from ledgerlink.sync.models import RemoteLink

    try:
        invoice = Invoice.objects.select_related("customer", "project", "organisation").get(
            pk=invoice_id, organisation__memberships__user=request.user
        )
    except (Invoice.DoesNotExist, ValueError) as exc:
        raise Http404("No such invoice.") from exc
    if not invoice.number or invoice.issue_date is None:
        return page(request, "Preview", "A draft has no ledger body yet: issue it first.", 409)
    connection = connections.live_connection(invoice.organisation)
    link = (
        RemoteLink.objects.filter(
            connection=connection, subject_type="customer", subject_id=str(invoice.customer_id)
        ).first()
        if connection
        else None
    )
    result = preview_invoice(
        invoice_document(invoice), invoice.organisation, provider, link.remote_id if link else ""
    )
    if request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", ""):
        return HttpResponse(json_bytes(result), content_type="application/json")
    body_text = json_bytes(result["body"]).decode() if result["body"] is not None else ""
    return render(
        request,
        "ledgers/preview.html",
        {"title": f"Preview of {invoice.number}", "invoice": invoice, "result": result, "body": body_text},
    )
