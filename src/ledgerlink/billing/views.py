"""Billing pages: enable (agree to the terms), status (with invoices and cancel), invoice renderings. Each
lives under its organisation's URL (/orgs/<id>/billing/...): with two tabs open on two organisations, a
page always acts on the organisation it names, never on the one opened last."""

from __future__ import annotations

import contextlib

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ledgerlink.billing import invoicing, rules, services
from ledgerlink.billing.models import BillingInvoice, Subscription
from ledgerlink.cashflow import access as members
from ledgerlink.cashflow.models import Organisation

AGREE_FIELD = "agree"


def legacy(request: HttpRequest, invoice_id: int | None = None) -> HttpResponse:
    """The old /billing/ addresses (bookmarks, emailed invoice links): an invoice's own organisation is known,
    so it goes there; anything else goes to the organisation list rather than guessing one."""
    if invoice_id is None or not request.user.is_authenticated:
        return redirect("web:home") if request.user.is_authenticated else redirect_to_login(request.path)
    invoice = BillingInvoice.objects.filter(pk=invoice_id).first()
    if invoice is None or members.membership(request.user, invoice.organisation_id) is None:
        raise Http404("No such invoice")
    return redirect("billing:invoice", organisation_id=invoice.organisation_id, invoice_id=invoice_id)


def _terms(organisation: Organisation, subscription: Subscription | None) -> dict[str, object]:
    today = services.local_today(organisation)
    offer = rules.offered_price(organisation.home_currency)
    context: dict[str, object] = {"offer": offer, "amount": f"{offer.amount:.2f}", "today": today}
    if subscription is None:
        context |= {
            "trial_ends_on": rules.trial_end(today),
            "first_billing_date": rules.first_billing_date(today),
        }
    else:
        context["resumes_on"] = rules.resumed_billing_start(subscription.enabled_on, today)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def enable(request: HttpRequest, organisation_id: str) -> HttpResponse:
    organisation, is_admin = members.organisation_for(request.user, organisation_id)
    if not is_admin:
        return render(request, "billing/admin_only.html", {"organisation": organisation}, status=403)
    subscription = services.subscription_of(organisation)
    if subscription is not None and subscription.is_enabled:
        return redirect("billing:status", organisation_id=organisation.pk)
    error = ""
    if request.method == "POST":
        if request.POST.get(AGREE_FIELD) == "on":
            services.enable_connector(
                organisation,
                request.user,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            # Enabling is setup's first step: the setup page opens the next one (connect a ledger).
            return redirect("web:organisation", organisation_id=organisation.pk)
        error = "Tick “I agree” to accept the pricing terms."
    context = {
        "organisation": organisation,
        "subscription": subscription,
        "terms_version": services.TERMS_VERSION,
        "ledgers": invoicing.ledger_names(),
        "any_ledger": invoicing.ledger_names(" or "),
        "error": error,
        **_terms(organisation, subscription),
    }
    return render(request, "billing/enable.html", context, status=400 if error else 200)


@login_required
@require_GET
def status(request: HttpRequest, organisation_id: str) -> HttpResponse:
    organisation, is_admin = members.organisation_for(request.user, organisation_id)
    subscription = services.subscription_of(organisation)
    context = {
        "organisation": organisation,
        "subscription": subscription,
        "is_admin": is_admin,
        "invoices": BillingInvoice.objects.filter(organisation=organisation),
        "price": f"{subscription.price:.2f}" if subscription else "",
        "next_invoice_on": services.next_invoice_on(subscription) if subscription else None,
        "last_served_day": services.last_served_day(subscription) if subscription else None,
        "may_sync": services.may_sync(organisation),
    }
    return render(request, "billing/status.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """GET: a confirmation that says what stops; POST: cancel."""
    organisation, is_admin = members.organisation_for(request.user, organisation_id)
    if not is_admin:
        return render(request, "billing/admin_only.html", {"organisation": organisation}, status=403)
    if request.method == "GET":
        context = {"organisation": organisation, "subscription": services.subscription_of(organisation)}
        return render(request, "billing/cancel.html", context)
    # A double-submitted cancel finds nothing to cancel: the page already says cancelled.
    with contextlib.suppress(services.NotEnabled):
        services.cancel_connector(organisation, request.user)
    return redirect("billing:status", organisation_id=organisation.pk)


def _invoice(request: HttpRequest, organisation_id: str, invoice_id: int) -> BillingInvoice:
    organisation, _ = members.organisation_for(request.user, organisation_id)
    return get_object_or_404(
        BillingInvoice.objects.select_related("organisation"), pk=invoice_id, organisation=organisation
    )


@login_required
@require_GET
def invoice_html(request: HttpRequest, organisation_id: str, invoice_id: int) -> HttpResponse:
    return HttpResponse(invoicing.render_html(_invoice(request, organisation_id, invoice_id)))


@login_required
@require_GET
def invoice_text(request: HttpRequest, organisation_id: str, invoice_id: int) -> HttpResponse:
    return HttpResponse(
        invoicing.render_text(_invoice(request, organisation_id, invoice_id)),
        content_type="text/plain; charset=utf-8",
    )
