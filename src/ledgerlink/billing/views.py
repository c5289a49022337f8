"""Minimal billing pages: enable (agree to the terms), status (with invoices and cancel), invoice renderings.
Every query is scoped to the signed-in user's organisation."""

from __future__ import annotations

import contextlib

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ledgerlink.billing import access, invoicing, rules, services
from ledgerlink.billing.models import BillingInvoice, Subscription
from ledgerlink.cashflow import access as members
from ledgerlink.cashflow.models import Organisation

AGREE_FIELD = "agree"


def current_organisation(request: HttpRequest) -> Organisation:
    """The organisation the user is working in (see `access.page_organisation`). A user with no organisation
    gets a 404, never another organisation's data."""
    organisation = access.page_organisation(request)
    if organisation is None:
        raise Http404("You are not a member of any organisation.")
    return organisation


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
def enable(request: HttpRequest) -> HttpResponse:
    organisation = current_organisation(request)
    if not members.is_admin(request.user, organisation):
        return render(request, "billing/admin_only.html", {"organisation": organisation}, status=403)
    subscription = services.subscription_of(organisation)
    if subscription is not None and subscription.is_enabled:
        return redirect("billing:status")
    error = ""
    if request.method == "POST":
        if request.POST.get(AGREE_FIELD) == "on":
            services.enable_connector(
                organisation,
                request.user,
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            return redirect("billing:status")
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
def status(request: HttpRequest) -> HttpResponse:
    organisation = current_organisation(request)
    subscription = services.subscription_of(organisation)
    context = {
        "organisation": organisation,
        "subscription": subscription,
        "is_admin": members.is_admin(request.user, organisation),
        "invoices": BillingInvoice.objects.filter(organisation=organisation),
        "price": f"{subscription.price:.2f}" if subscription else "",
        "next_invoice_on": services.next_invoice_on(subscription) if subscription else None,
        "last_served_day": services.last_served_day(subscription) if subscription else None,
        "may_sync": services.may_sync(organisation),
    }
    return render(request, "billing/status.html", context)


@login_required
@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    organisation = current_organisation(request)
    if not members.is_admin(request.user, organisation):
        return render(request, "billing/admin_only.html", {"organisation": organisation}, status=403)
    # A double-submitted cancel finds nothing to cancel: the page already says cancelled.
    with contextlib.suppress(services.NotEnabled):
        services.cancel_connector(organisation, request.user)
    return redirect("billing:status")


def _invoice(request: HttpRequest, invoice_id: int) -> BillingInvoice:
    return get_object_or_404(
        BillingInvoice.objects.select_related("organisation"),
        pk=invoice_id,
        organisation=current_organisation(request),
    )


@login_required
@require_GET
def invoice_html(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return HttpResponse(invoicing.render_html(_invoice(request, invoice_id)))


@login_required
@require_GET
def invoice_text(request: HttpRequest, invoice_id: int) -> HttpResponse:
    return HttpResponse(
        invoicing.render_text(_invoice(request, invoice_id)), content_type="text/plain; charset=utf-8"
    )
