"""The organisation's people and programs: members and their roles, API keys (create, name, revoke, last
used) and this month's API usage with the connector's own (exempt, never billed) traffic shown apart."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ledgerlink.billing import usage
from ledgerlink.cashflow import access, apikeys
from ledgerlink.cashflow.models import ApiKey, Membership, Organisation
from ledgerlink.ledgers.providers import provider_name


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name of the new key", max_length=100, help_text="Say what uses it, e.g. “Website checkout”."
    )


@login_required
def members(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, is_admin = access.organisation_for(request.user, organisation_id)
    people = (
        Membership.objects.filter(organisation=org).select_related("user").order_by("role", "user__username")
    )
    return render(request, "web/members.html", {"organisation": org, "is_admin": is_admin, "members": people})


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """Admins only: a key reaches the organisation's invoices. A new key is shown once, on this response,
    never stored or put in a message."""
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    form = ApiKeyForm(request.POST or None)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        _, new_key = apikeys.create_api_key(org, form.cleaned_data["name"])
        form = ApiKeyForm()
    return render(request, "web/api_keys.html", _keys_context(org, form, new_key))


def _keys_context(org: Organisation, form: ApiKeyForm, new_key: str) -> dict[str, object]:
    report = usage.report(org.pk, usage.local_month(org.time_zone))
    exempt = [
        (f"{row.kind.replace('_', ' ')} ({provider_name(row.provider)})", row.calls) for row in report.exempt
    ]
    return {
        "organisation": org,
        "keys": ApiKey.objects.filter(organisation=org).order_by("revoked_at", "-created_at"),
        "form": form,
        "new_key": new_key,
        "report": report,
        "exempt": exempt,
    }


@login_required
@require_POST
def revoke_key(request: HttpRequest, organisation_id: str, key_id: int) -> HttpResponse:
    org, _ = access.organisation_for(request.user, organisation_id, admin=True)
    key = get_object_or_404(ApiKey, pk=key_id, organisation=org)
    apikeys.revoke_api_key(key)
    messages.success(request, f"Key “{key.name}” revoked: it stops working now.")
    return redirect("web:api_keys", organisation_id=org.pk)
