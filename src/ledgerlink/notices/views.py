"""The notices pages: settings and log (members read, administrators change), the retry page a recap's
"retry these" link opens, the one-click unsubscribe (no sign-in: the link is signed), and the demo's
mailbox (the SMTP sink's messages, in demo and test mode only)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.connections import live_connection
from ledgerlink.notices.grouping import build_recap
from ledgerlink.notices.models import Delivery, NoticeKind, NoticeSettings, OptIn, Unsubscribe
from ledgerlink.notices.recap import failed_items
from ledgerlink.notices.sending import read_unsubscribe_token
from ledgerlink.sync.models import SyncRecord
from ledgerlink.sync.requeue import retry_record

LOG_LENGTH = 200


class SettingsForm(forms.Form):
    accounting_email = forms.EmailField(label="Accounting contact", required=False)
    recap_hour = forms.IntegerField(label="Daily recap at (local hour, 0-23)", min_value=0, max_value=23)


class MyNoticesForm(forms.Form):
    """An administrator's own opt-ins, one box per kind."""

    kinds = forms.MultipleChoiceField(
        label="Also email me", choices=NoticeKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


def _settings(organisation: Organisation) -> NoticeSettings:
    return NoticeSettings.objects.get_or_create(organisation=organisation)[0]


@login_required
@require_http_methods(["GET", "POST"])
def notices(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, is_admin = access.organisation_for(request.user, organisation_id, admin=request.method == "POST")
    saved = _settings(org)
    mine = OptIn.objects.filter(organisation=org, user=request.user)
    form = SettingsForm(initial={"accounting_email": org.accounting_email, "recap_hour": saved.recap_hour})
    own = MyNoticesForm(initial={"kinds": list(mine.values_list("kind", flat=True))})
    if request.method == "POST":
        bound = _save(request, org, saved)
        if bound is None:
            messages.info(request, "Notice settings saved.")
            return redirect("notices:settings", organisation_id=org.pk)
        form, own = (bound, own) if isinstance(bound, SettingsForm) else (form, bound)
    deliveries = Delivery.objects.filter(notice__organisation=org).select_related("notice")[:LOG_LENGTH]
    context = {
        "organisation": org,
        "is_admin": is_admin,
        "form": form,
        "own": own,
        "deliveries": deliveries,
        "unsubscribed": Unsubscribe.objects.filter(organisation=org).order_by("email", "kind"),
    }
    return render(request, "notices/settings.html", context)


@transaction.atomic
def _save(request: HttpRequest, org: Organisation, saved: NoticeSettings) -> forms.Form | None:
    """Save what was posted; None when saved, else the bound form with its errors."""
    if request.POST.get("form") == "own":
        own = MyNoticesForm(request.POST)
        if not own.is_valid():
            return own
        kinds = set(own.cleaned_data["kinds"])
        OptIn.objects.filter(organisation=org, user=request.user).exclude(kind__in=kinds).delete()
        for kind in kinds:
            OptIn.objects.get_or_create(organisation=org, user=request.user, kind=kind)
        # Asking for a kind again undoes an earlier unsubscribe from it.
        address = getattr(request.user, "email", "").lower()
        Unsubscribe.objects.filter(organisation=org, email=address, kind__in=kinds).delete()
        return None
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return form
    org.accounting_email = form.cleaned_data["accounting_email"]
    org.save(update_fields=["accounting_email"])
    saved.recap_hour = form.cleaned_data["recap_hour"]
    saved.save(update_fields=["recap_hour"])
    return None


@login_required
@require_http_methods(["GET", "POST"])
def retry_group(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """The current failures waiting for one setting, with a button that sends them again."""
    org, is_admin = access.organisation_for(request.user, organisation_id, admin=request.method == "POST")
    key = request.GET.get("setting", "")
    connection = live_connection(org)
    items = [i for i in failed_items(org, connection) if i.setting.key == key] if connection else []
    if request.method == "POST":
        invoice_ids = {item.invoice_id for item in items}
        records = SyncRecord.objects.filter(
            organisation=org, chain__in=invoice_ids, error_is_configuration=True
        )
        retried = sum(retry_record(record) for record in records)
        messages.info(request, f"{retried} item{'s' if retried != 1 else ''} sent again.")
        return redirect("web:invoices", organisation_id=org.pk)
    recap = build_recap(items, limit=len(items) or 1)
    context = {"organisation": org, "is_admin": is_admin, "recap": recap, "setting_key": key}
    return render(request, "notices/retry.html", context)


@csrf_exempt  # signed link, no session: RFC 8058 one-click POSTs come from mail clients without a cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = read_unsubscribe_token(token)
    if found is None:
        raise Http404("This unsubscribe link is not valid.")
    organisation_id, address, kind = found
    org = Organisation.objects.filter(pk=organisation_id).first()
    if org is None:
        raise Http404("This organisation no longer exists.")
    done = request.method == "POST"
    if done:
        Unsubscribe.objects.get_or_create(organisation=org, email=address, kind=kind)
    context = {"organisation": org, "email": address, "kind": NoticeKind(kind).label, "done": done}
    return render(request, "notices/unsubscribe.html", context)


def _mail_folder() -> Path:
    return Path(settings.DATA_DIR) / "mail"


def _read(path: Path) -> dict[str, Any]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain", "html"))
    return {
        "name": path.name,
        "to": message["To"],
        "subject": message["Subject"],
        "date": message["Date"],
        "text": body.get_content() if body is not None else "",
    }


def mailbox(request: HttpRequest) -> HttpResponse:
    """What the demo's SMTP sink received, newest first (demo and test mode only)."""
    if settings.LEDGERLINK_MODE not in ("demo", "test"):
        raise Http404("The mailbox exists only in the demo.")
    folder = _mail_folder()
    paths = sorted(folder.glob("*.eml"), reverse=True)[:100] if folder.exists() else []
    return render(request, "notices/mailbox.html", {"messages_": [_read(path) for path in paths]})
