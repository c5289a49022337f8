"""The sync console: each invoice's sync status and why, retry (one or all), and historical pushes with a
live progress bar. Reads the engine's records; changes go through the engine's own functions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Invoice, InvoiceStatus, Organisation
from ledgerlink.ledgers import connections
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.sync import history, requeue, status
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState

# How each status of sync.status reads on the page.
TONES = {"synced": "ok", "pending": "muted", "not attempted": "muted", "error": "bad", "disconnected": "bad"}
PAGE_SIZE = 100


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    label: str
    message: str
    tone: str
    objects: tuple[status.ObjectSyncStatus, ...] = ()


def invoice_rows(organisation: Organisation, invoices: QuerySet[Invoice]) -> list[InvoiceRow]:
    """Each invoice with its sync status in the engine's words (sync.status), drafts and the unconnected
    told apart."""
    invoices = list(invoices.select_related("customer")[:PAGE_SIZE])
    connection = connections.live_connection(organisation)
    statuses = status.invoice_statuses(connection, [i.pk for i in invoices]) if connection else {}
    rows = []
    for invoice in invoices:
        found = statuses.get(str(invoice.pk))
        if invoice.status == InvoiceStatus.DRAFT:
            rows.append(InvoiceRow(invoice, "draft: not sent", "", "muted"))
        elif found is None:
            rows.append(InvoiceRow(invoice, "not connected", "", "muted"))
        else:
            rows.append(InvoiceRow(invoice, found.label, found.message, TONES[found.label], found.objects))
    return rows


def summary(organisation: Organisation) -> dict[str, int]:
    """Invoice records by engine state, largest first."""
    states = SyncRecord.objects.filter(organisation=organisation, kind=ObjectKind.INVOICE).values_list(
        "state", flat=True
    )
    return {SyncState(s).label: n for s, n in Counter(states).most_common()}


class HistoryForm(forms.Form):
    date_from = forms.DateField(
        label="Issued from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="Issued to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@login_required
def invoices(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, is_admin = access.organisation_for(request.user, organisation_id)
    wanted = request.GET.get("sync", "")
    query = Invoice.objects.filter(organisation=org).order_by("-issue_date", "-number")
    if wanted in SyncState.values:  # an invoice with any object (a payment, say) in that state
        query = query.filter(pk__in=status.chains_in_state(org, wanted))
    context = {
        "organisation": org,
        "is_admin": is_admin,
        "rows": invoice_rows(org, query),
        "states": SyncState.choices,
        "wanted": wanted,
        "connection": connections.live_connection(org),
    }
    return render(request, "web/invoices.html", context)


@login_required
@require_POST
def retry_one(request: HttpRequest, organisation_id: str, invoice_id: str) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    # Everything of the invoice that failed: itself, a payment, a refund, its cancellation.
    records = SyncRecord.objects.filter(organisation=org, chain=str(invoice_id))
    retried = sum(requeue.retry_record(record) for record in records)
    messages.info(request, "Sent again." if retried else "Nothing to retry for that invoice.")
    return redirect("web:invoices", organisation_id=org.pk)


@login_required
@require_POST
def retry_all(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    count = requeue.retry_failed(org)
    messages.info(request, f"{count} record{'s' if count != 1 else ''} queued again.")
    return redirect("web:invoices", organisation_id=org.pk)


@login_required
@require_POST
def start_history(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    form = HistoryForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("web:organisation", organisation_id=org.pk)
    selection = history.Selection(
        date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"]
    )
    try:
        push = history.start_push(org.pk, selection)
    except history.InvalidSelection as invalid:
        messages.error(request, str(invalid))
        return redirect("web:organisation", organisation_id=org.pk)
    except history.NoConnection:
        messages.error(request, "Connect a ledger before pushing history.")
        return redirect("web:organisation", organisation_id=org.pk)
    messages.success(request, f"Pushing {push.total} historical invoice{'s' if push.total != 1 else ''}.")
    return redirect("web:organisation", organisation_id=org.pk)


@login_required
def history_progress(request: HttpRequest, organisation_id: str, push_id: int) -> HttpResponse:
    """The progress partial the organisation page polls (htmx) while a push runs."""
    org, _ = access.organisation_for(request.user, organisation_id)
    push = history.refresh_progress(get_object_or_404(HistoricalPush, pk=push_id, organisation=org))
    return render(
        request, "web/_history_progress.html", {"organisation": org, "push": push, "eta": eta(push)}
    )


def eta(push: HistoricalPush) -> str:
    """Remaining time at the pace so far, in words; empty until there is a pace to go by."""
    settled = push.done + push.failed
    if push.state != HistoricalPush.State.RUNNING or not settled or settled >= push.total:
        return ""
    elapsed = (timezone.now() - push.started_at).total_seconds()
    remaining = elapsed / settled * (push.total - settled)
    return (
        f"about {max(1, round(remaining / 60))} min left"
        if remaining >= 60
        else f"about {int(remaining) + 1} s left"
    )


def latest_push(organisation: Organisation) -> HistoricalPush | None:
    return HistoricalPush.objects.filter(organisation=organisation).order_by("-started_at").first()
