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
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Invoice, InvoiceStatus, Organisation
from ledgerlink.ledgers import connections, registry
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.sync import history, requeue, status
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState

# How each status of sync.status reads on the page.
TONES = {"synced": "ok", "pending": "muted", "not attempted": "muted", "error": "bad", "disconnected": "bad"}
PAGE_SIZE = 100


@dataclass(frozen=True)
class Fix:
    """Where the setting that fixes a failure is, and whether a retry before fixing it would only fail
    again at once (a configuration error stays until the setting changes)."""

    label: str
    url: str
    retry_would_fail: bool


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    label: str
    message: str
    tone: str
    objects: tuple[status.ObjectSyncStatus, ...] = ()
    fix: Fix | None = None


def fixes(organisation: Organisation, chains: list[str]) -> dict[str, Fix]:
    """For each invoice (chain) that waits for the user: the page that fixes it. A paused connection is
    fixed by reconnecting, a configuration error (mapping, archived account, missing tax rate) on the
    mapping page; other failures (the ledger was down) have no setting, a retry is the fix."""
    waiting = SyncRecord.objects.filter(
        organisation=organisation, chain__in=chains, state__in=[SyncState.NEEDS_ATTENTION, SyncState.PAUSED]
    ).values_list("chain", "state", "error_is_configuration")
    found: dict[str, Fix] = {}
    for chain, state, configuration in waiting:
        if state == SyncState.PAUSED:
            url = reverse("web:organisation", args=[organisation.pk]) + "#ledger-h"
            found[chain] = Fix("Reconnect the ledger", url, retry_would_fail=True)
        elif configuration and chain not in found:
            url = reverse("web:mapping", args=[organisation.pk])
            found[chain] = Fix("Fix the mapping", url, retry_would_fail=True)
    return found


def invoice_rows(organisation: Organisation, invoices: QuerySet[Invoice]) -> list[InvoiceRow]:
    """Each invoice with its sync status in the engine's words (sync.status), drafts and the unconnected
    told apart."""
    invoices = list(invoices.select_related("customer")[:PAGE_SIZE])
    connection = connections.live_connection(organisation)
    statuses = status.invoice_statuses(connection, [i.pk for i in invoices]) if connection else {}
    found_fixes = fixes(organisation, [str(i.pk) for i in invoices])
    rows = []
    for invoice in invoices:
        found = statuses.get(str(invoice.pk))
        if invoice.status == InvoiceStatus.DRAFT:
            rows.append(InvoiceRow(invoice, "draft: not sent", "", "muted"))
        elif found is None:
            rows.append(InvoiceRow(invoice, "not connected", "", "muted"))
        else:
            fix = found_fixes.get(str(invoice.pk))
            rows.append(
                InvoiceRow(invoice, found.label, found.message, TONES[found.label], found.objects, fix)
            )
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
    # The table polls itself (htmx) so a status turns synced without a reload: the poll gets the rows only.
    template = "web/_invoice_rows.html" if getattr(request, "htmx", False) else "web/invoices.html"
    response = render(request, template, context)
    # The rows and the page share this address: without Vary, the browser's Back showed the cached rows
    # alone (no layout, no scripts) in place of the page.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def retry_one(request: HttpRequest, organisation_id: str, invoice_id: str) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    found = get_object_or_404(Invoice, pk=invoice_id, organisation=org)  # another's invoice is not found
    _retry_chains(request, org, [str(found.pk)])
    return redirect("web:invoices", organisation_id=org.pk)


@login_required
@require_POST
def retry_all(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """The selected invoices (`invoice` values), or with none selected every failed one."""
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    selected = request.POST.getlist("invoice")
    if selected:
        _retry_chains(request, org, selected)
    else:
        count = requeue.retry_failed(org)
        messages.info(request, f"{count} record{'s' if count != 1 else ''} queued again.")
    return redirect("web:invoices", organisation_id=org.pk)


def _retry_chains(request: HttpRequest, org: Organisation, chains: list[str]) -> None:
    """Send again what failed of these invoices (the invoice, a payment, a refund, its cancellation),
    except where a retry would only fail again at once: those are named with what fixes them."""
    blocked = {chain: fix for chain, fix in fixes(org, chains).items() if fix.retry_would_fail}
    records = SyncRecord.objects.filter(organisation=org, chain__in=[c for c in chains if c not in blocked])
    retried = sum(requeue.retry_record(record) for record in records)
    if blocked:
        steps = sorted({fix.label.lower() for fix in blocked.values()})
        count, one = len(blocked), len(blocked) == 1
        messages.warning(
            request,
            f"{count} invoice{'' if one else 's'} not retried: a retry would fail again at once. "
            f"First {' and '.join(steps)}; that sends {'it' if one else 'them'} again by itself.",
        )
    if retried or not blocked:
        messages.info(
            request,
            f"{retried} item{'s' if retried != 1 else ''} sent again." if retried else "Nothing to retry.",
        )


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


@login_required
def invoice(request: HttpRequest, organisation_id: str, invoice_id: str) -> HttpResponse:
    """One invoice: its sync status with the fix, and what happened to it since (payments, reversals, credit
    notes), each with its state in the ledger."""
    org, is_admin = access.organisation_for(request.user, organisation_id)
    found = get_object_or_404(Invoice.objects.filter(organisation=org), pk=invoice_id)
    row = invoice_rows(org, Invoice.objects.filter(pk=found.pk))[0]
    connection = connections.live_connection(org)
    links = ledger_links(connection, row.objects)
    ledger_state = {(o.kind, o.subject_id): (o, links.get((o.kind, o.subject_id), "")) for o in row.objects}
    payments = found.payments.prefetch_related("reversals").order_by("received_on")
    context = {
        "organisation": org,
        "is_admin": is_admin,
        "row": row,
        "invoice": found,
        "objects": [(o, links.get((o.kind, o.subject_id), "")) for o in row.objects],
        "payments": [(p, *ledger_state.get((ObjectKind.PAYMENT, str(p.pk)), (None, ""))) for p in payments],
        "credit_notes": found.credit_notes.order_by("issued_on"),
        "connection": connection,
        "provider_name": provider_name(connection.provider) if connection else "",
    }
    return render(request, "web/invoice.html", context)


def ledger_links(
    connection: Connection | None, objects: tuple[status.ObjectSyncStatus, ...]
) -> dict[tuple[str, str], str]:
    """Each object's page in the ledger's own app, where it has one (the ledger's package knows where)."""
    if connection is None:
        return {}
    ledger = registry.LEDGERS[connection.provider]
    found = {}
    for entry in objects:
        url = ledger.web_url(connection.tenant_id, ObjectKind(entry.kind), entry.remote_id)
        if url:
            found[(entry.kind, entry.subject_id)] = url
    return found
