"""The pages a demo user needs this round: sign in, the organisations, and the mapping. The full web app
(wizard, sync console, charts) is the web issue's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ledgerlink.billing import rules as billing_rules
from ledgerlink.billing import services as billing_services
from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Invoice, Organisation, PaymentMethod, TaxRate
from ledgerlink.ledgers import charts, connections, registry, validation
from ledgerlink.ledgers.http import json_bytes
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.ledgers.preview import preview_invoice
from ledgerlink.ledgers.providers import PROVIDERS, provider_name
from ledgerlink.sync import history
from ledgerlink.sync.documents import invoice_document
from ledgerlink.sync.models import RemoteLink
from ledgerlink.web import console
from ledgerlink.web.mapping import DEFAULT_PAYMENT, MappingForm
from ledgerlink.web.preview_table import line_table


@login_required
def home(request: HttpRequest) -> HttpResponse:
    rows = [
        {"membership": m, "connection": connections.live_connection(m.organisation)}
        for m in access.memberships(request.user)
    ]
    return render(request, "web/home.html", {"rows": rows})


@login_required
def organisation(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, is_admin = access.organisation_for(request.user, organisation_id)
    # Exempt ledger callbacks are counted against the organisation last opened (billing middleware).
    request.session["organisation_id"] = str(org.pk)
    connection = connections.live_connection(org)
    problems: list[validation.Problem] = []
    chart = charts.chart_for(connection) if connection else None
    if connection and chart:
        problems = _problems(org, connection.provider, chart)
    push = console.latest_push(org)
    if push is not None:
        push = history.refresh_progress(push)
    context = {
        "organisation": org,
        "is_admin": is_admin,
        "connection": connection,
        "chart": chart,
        "problems": problems,
        "summary": console.summary(org),
        "push": push,
        "eta": console.eta(push) if push else "",
        "history_form": console.HistoryForm(),
        # One Connect button per ledger LedgerLink can sign in to, named as its users know it.
        "connectable": [(key, PROVIDERS[key].connect_label) for key in registry.OAUTH_PROVIDERS],
        "provider_name": provider_name(connection.provider) if connection else "",
        **setup_steps(org, connection, chart, problems),
    }
    return render(request, "web/organisation.html", context)


def setup_steps(
    org: Organisation, connection: Connection | None, chart: Any, problems: list[Any]
) -> dict[str, Any]:
    """Where the organisation is in setup: each step done or not, and the first one not done (the page's
    main button belongs to it)."""
    subscription = billing_services.subscription_of(org)
    enabled = subscription is not None and subscription.is_enabled
    connected = connection is not None and connection.status == ConnectionStatus.ACTIVE
    mapped = connected and chart is not None and not problems
    done = {"enable": enabled, "connect": connected, "mapping": mapped}
    current = next((step for step, ok in done.items() if not ok), "done")
    offer = billing_rules.offered_price(org.home_currency)
    return {
        "subscription": subscription,
        "steps_done": done,
        "current_step": current,
        "offer": offer,
        "trial_ends_on": billing_rules.trial_end(billing_services.local_today(org)),
    }


@login_required
@require_http_methods(["GET"])
def confirm_disconnect(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """Disconnect asks first and says what it stops; the ledgers' own view does it on the POST."""
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    connection = connections.live_connection(org)
    if connection is None:
        messages.info(request, "No ledger is connected: there is nothing to disconnect.")
        return redirect("web:organisation", organisation_id=org.pk)
    name = provider_name(connection.provider)
    context = {
        "organisation": org,
        "title": f"Disconnect {name} from {org.name}?",
        "consequences": [
            f"New invoices, payments and credit notes stop going to {name} ({connection.tenant_name}).",
            f"LedgerLink's access is revoked at {name}; nothing already in the ledger is changed.",
            "The mapping and the sync history are kept: connecting again picks up where it stopped.",
        ],
        "action": reverse("ledgers:disconnect", args=[connection.provider]),
        "hidden": {"organisation": str(org.pk)},
        "confirm_label": f"Yes, disconnect {name}",
        "back": reverse("web:organisation", args=[org.pk]),
    }
    return render(request, "web/confirm.html", context)


def _problems(org, provider: str, chart) -> list[validation.Problem]:
    labels = validation.Labels(
        ledger=provider_name(provider),
        tax_rates={str(t.pk): t.name for t in TaxRate.objects.filter(organisation=org)},
    )
    mapping = resolve_mapping(org, provider)
    return validation.mapping_problems(mapping, chart, labels, methods=[m.value for m in PaymentMethod])


@login_required
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=request.method == "POST")
    connection = connections.live_connection(org)
    chart = charts.chart_for(connection) if connection else None
    if connection is None or chart is None:
        messages.info(request, "Connect a ledger first: its accounts and tax rates load as soon as you do.")
        return redirect("web:organisation", organisation_id=org.pk)
    kwargs = {"organisation": org, "provider": connection.provider, "chart": chart}
    if request.method == "POST":
        form = MappingForm(request.POST, **kwargs)
        if form.is_valid():
            form.save()
            messages.success(request, "Mapping saved. Invoices it could fix are queued again.")
            return redirect("web:mapping", organisation_id=org.pk)
    else:
        form = MappingForm(**kwargs)
        form.propose_unsaved()
    # A pre-flight problem is about a saved value: beside a proposal (not saved yet) or a field the user
    # just changed, it would contradict what the field shows.
    shown = set(form.reasons) | set(form.errors)
    if DEFAULT_PAYMENT in form.reasons:  # each method falls back to the default: proposed, so not missing
        shown |= {name for name in form.fields if name.startswith("payment:")}
    problems = {
        p.field: p.message for p in _problems(org, connection.provider, chart) if p.field not in shown
    }
    context = {
        "organisation": org,
        "connection": connection,
        "provider_name": provider_name(connection.provider),
        "form": form,
        "problems": problems,
        "chart": chart,
        "sections": _mapping_sections(form, problems),
    }
    return render(request, "web/mapping.html", context, status=400 if form.errors else 200)


MAPPING_SECTIONS = (
    ("tax_rate:", "Tax rates and revenue accounts"),
    ("line_type:", "Line types (optional: an account of their own)"),
    ("payment:", "Payments"),
)


def _mapping_sections(form: MappingForm, problems: dict[str, str]) -> list[dict[str, Any]]:
    """The form's fields by section, each with its reason when proposed and its problem when saved."""
    return [
        {
            "title": title,
            "fields": [
                {"field": form[name], "reason": form.reasons.get(name, ""), "problem": problems.get(name, "")}
                for name in form.fields
                if name.startswith(prefix)
            ],
        }
        for prefix, title in MAPPING_SECTIONS
    ]


@login_required
def preview(request: HttpRequest, organisation_id: str, invoice_id: str) -> HttpResponse:
    """The exact ledger body of one invoice, built by the code that sends it, without sending anything:
    a page, or JSON with ?format=json or an Accept: application/json request."""
    org, _ = access.organisation_for(request.user, organisation_id)
    invoice = get_object_or_404(
        Invoice.objects.select_related("customer", "project"), pk=invoice_id, organisation=org
    )
    if not invoice.number or invoice.issue_date is None:
        return render(
            request,
            "base.html",
            {"title": "Preview", "message": "A draft has no ledger body yet: issue it first."},
            status=409,
        )
    connection = connections.live_connection(org)
    if connection is None:  # the body is the connected ledger's: there is nothing to show before that
        return render(
            request,
            "base.html",
            {"title": "Preview", "message": "Connect a ledger to see what would be sent to it."},
            status=409,
        )
    provider = connection.provider
    link = RemoteLink.objects.filter(
        connection=connection, subject_type="customer", subject_id=str(invoice.customer_id)
    ).first()
    result = preview_invoice(invoice_document(invoice), org, provider, link.remote_id if link else "")
    if request.GET.get("format") == "json" or "application/json" in request.headers.get("Accept", ""):
        return HttpResponse(json_bytes(result), content_type="application/json")
    body = json_bytes(result["body"]).decode() if result["body"] is not None else ""
    context = {
        "organisation": org,
        "invoice": invoice,
        "result": result,
        "body": body,
        "provider_name": provider_name(provider),
        "table": line_table(result["body"]),
    }
    return render(request, "web/preview.html", context)
