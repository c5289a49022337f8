"""Who gets a notice, the signed unsubscribe link, and sending exactly once: claim the notice's row, send
to each recipient not yet recorded, record each delivery right after its send, then close the notice.

A second scheduler finds the row claimed (or closed) and sends nothing; a sender that dies mid-way leaves a
claim that lapses after CLAIM_LEASE, and the next run sends only to the recipients without a delivery row.
The one window left is a crash between a send and its record: that recipient may get the notice twice,
which each message's fixed Message-ID lets a mail client fold into one."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.notices.models import (
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeKind,
    NoticeState,
    OptIn,
    Unsubscribe,
)

log = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(minutes=10)
_UNSUBSCRIBE_SALT = "ledgerlink.notices.unsubscribe"


@dataclass(frozen=True)
class Email:
    """One rendered notice for one recipient."""

    subject: str
    text: str
    html: str


#: Renders the notice for one address (each copy carries its own unsubscribe link).
Render = Callable[[str], Email]


def recipients(organisation: Organisation, kind: str) -> list[str]:
    """The accounting contact (or, when there is none, every administrator) and the administrators who opted
    in to `kind`, less whoever unsubscribed from it; lower-cased, each once."""
    admins = access.administrators_with_email(organisation)
    wanted = access.accounting_contacts(organisation)
    opted = OptIn.objects.filter(organisation=organisation, kind=kind, user__in=admins.values("user"))
    wanted += list(opted.values_list("user__email", flat=True))
    gone = {
        email.lower()
        for email in Unsubscribe.objects.filter(organisation=organisation, kind=kind).values_list(
            "email", flat=True
        )
    }
    return [email for email in dict.fromkeys(e.lower() for e in wanted if e) if email not in gone]


def unsubscribe_token(organisation: Organisation, email: str, kind: str) -> str:
    return signing.dumps({"o": str(organisation.pk), "e": email.lower(), "k": kind}, salt=_UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token: str) -> tuple[str, str, str] | None:
    """(organisation id, email, kind), or None for a token we did not sign. No expiry: a year-old email's
    link must still work."""
    try:
        data = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if data.get("k") not in NoticeKind.values:
        return None
    return str(data["o"]), str(data["e"]), str(data["k"])


def unsubscribe_url(organisation: Organisation, email: str, kind: str) -> str:
    token = unsubscribe_token(organisation, email, kind)
    return settings.PUBLIC_URL + reverse("notices:unsubscribe", args=[token])


def open_notice(organisation: Organisation, kind: str, key: str) -> Notice:
    """The notice for this key, created on first sight; concurrent creators meet on the unique key."""
    try:
        with transaction.atomic():
            return Notice.objects.get_or_create(organisation=organisation, kind=kind, key=key)[0]
    except IntegrityError:  # another scheduler created it between our read and our insert
        return Notice.objects.get(organisation=organisation, kind=kind, key=key)


def claim(notice: Notice, now: dt.datetime) -> uuid.UUID | None:
    """Take the notice for this sender until the lease ends; None when it is closed or another sender holds
    it. One UPDATE: the database re-checks the row for a second sender that waited on it."""
    token = uuid.uuid4()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    taken = Notice.objects.filter(Q(pk=notice.pk, state=NoticeState.PENDING) & free).update(
        claim=token, claimed_until=now + CLAIM_LEASE
    )
    return token if taken else None


def close(notice: Notice, state: str, now: dt.datetime, subject: str = "") -> None:
    fields = {"state": state, "finished_at": now, "claimed_until": None}
    if subject:
        fields["subject"] = subject
    Notice.objects.filter(pk=notice.pk).update(**fields)


def release(notice: Notice, token: uuid.UUID) -> None:
    Notice.objects.filter(pk=notice.pk, claim=token).update(claim=None, claimed_until=None)


def message_id(notice: Notice, email: str) -> str:
    digest = hashlib.sha256(email.encode()).hexdigest()[:16]
    return f"<notice-{notice.pk}-{digest}@ledgerlink>"


def build_message(
    notice: Notice, email: str, content: Email, connection: BaseEmailBackend
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(notice.organisation, email, notice.kind)
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        to=[email],
        connection=connection,
        headers={
            "Message-ID": message_id(notice, email),
            # RFC 8058: mail clients offer their own one-click button, which POSTs to the same link.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(content.html, "text/html")
    return message


def _deliver(notice: Notice, email: str, render: Render, connection: BaseEmailBackend) -> Email:
    content = render(email)
    status, reply = DeliveryStatus.DELIVERED, ""
    try:
        build_message(notice, email, content, connection).send()
    except smtplib.SMTPRecipientsRefused as refused:
        code, text = next(iter(refused.recipients.values()))
        status, reply = DeliveryStatus.BOUNCED, f"{code} {text.decode(errors='replace')}"
    except smtplib.SMTPResponseException as error:
        status, reply = DeliveryStatus.BOUNCED, f"{error.smtp_code} {error.smtp_error!r}"[:500]
    Delivery.objects.create(notice=notice, email=email, status=status, reply=reply[:500])
    return content


def send_notice(
    organisation: Organisation, kind: str, key: str, now: dt.datetime, render: Render | None
) -> Notice | None:
    """Send the notice (kind, key) once. `render` is None when there is nothing to tell (a recap day with no
    failures): the day is closed without an email. Returns the notice when this call closed it."""
    notice = open_notice(organisation, kind, key)
    token = claim(notice, now)
    if token is None:
        return None
    if render is None:
        close(notice, NoticeState.NOTHING, now)
        return notice
    to = recipients(organisation, kind)
    if not to:
        close(notice, NoticeState.NO_RECIPIENTS, now)
        return notice
    done = set(Delivery.objects.filter(notice=notice).values_list("email", flat=True))
    try:
        connection = get_connection()
        connection.open()
    except OSError:
        log.exception("notices: the mail server is unreachable; %s %s waits for the next run", kind, key)
        release(notice, token)
        return None
    subject = ""
    with connection:
        for email in to:
            if email not in done:
                subject = _deliver(notice, email, render, connection).subject
    close(notice, NoticeState.SENT, now, subject)
    return notice
