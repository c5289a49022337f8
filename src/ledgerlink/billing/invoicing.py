"""Issuing, numbering, rendering and emailing the connector's monthly invoices."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from ledgerlink.billing import rules
from ledgerlink.billing.models import BillingInvoice, Enablement, InvoiceSequence, InvoiceStatus
from ledgerlink.cashflow import access
from ledgerlink.ledgers.providers import PROVIDERS

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "LL"
EMAIL_LEASE = timedelta(minutes=15)


def format_number(year: int, value: int) -> str:
    """LL-2027-000123."""
    return f"{NUMBER_PREFIX}-{year}-{value:06d}"


def _bump(year: int) -> int | None:
    # One statement that increments and reads under the row lock (RETURNING: PostgreSQL, SQLite >= 3.35).
    table = connection.ops.quote_name(InvoiceSequence._meta.db_table)
    with connection.cursor() as cursor:
        # The table name is our model's, never input; the year is a bound parameter.
        sql = f"UPDATE {table} SET last_value = last_value + 1 WHERE year = %s RETURNING last_value"  # noqa: S608
        cursor.execute(sql, [year])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def next_invoice_number(year: int) -> str:
    """Take the next number of `year`. Must run inside the invoice's transaction: the row lock held until
    commit keeps numbers unique, and a rollback returns the number (no gaps)."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_invoice_number() must run inside the invoice's transaction")
    value = _bump(year)
    if value is not None:
        return format_number(year, value)
    try:
        with transaction.atomic():
            InvoiceSequence.objects.create(year=year, last_value=1)
        return format_number(year, 1)
    except IntegrityError:  # another transaction created the year's row first: bump it now that it exists
        return next_invoice_number(year)


def _already_billed(organisation_id: object, first: date) -> bool:
    return BillingInvoice.objects.filter(organisation_id=organisation_id, period_start=first).exists()


def issue_invoice(span: Enablement, first: date, now: datetime) -> BillingInvoice | None:
    """Issue the invoice for the month starting `first`, at the price `span` was accepted at. Returns None
    when that month is already billed (by an earlier run, another scheduler, or another span)."""
    organisation_id = span.subscription.organisation_id
    if _already_billed(organisation_id, first):
        return None
    period = rules.billing_period(first)
    try:
        with transaction.atomic():
            return BillingInvoice.objects.create(
                number=next_invoice_number(first.year),
                organisation_id=organisation_id,
                enablement=span,
                period_start=period.start,
                period_end=period.end,
                amount_minor=span.acceptance.price_minor,
                currency=span.acceptance.currency,
                status=InvoiceStatus.ISSUED,
                issued_at=now,
            )
    except IntegrityError:
        if _already_billed(organisation_id, first):
            return None  # another scheduler won the race for this month: exactly what the unique key is for
        raise


def ledger_names(joiner: str = " / ") -> str:
    """The ledgers the connector speaks, by the names their users know, joined for a sentence."""
    return joiner.join(info.display_name for info in PROVIDERS.values())


def invoice_context(invoice: BillingInvoice) -> dict[str, object]:
    """What the HTML page, the plain-text version and the email show."""
    organisation = invoice.organisation
    return {
        "invoice": invoice,
        "organisation": organisation,
        "amount": f"{invoice.amount:.2f}",
        "issued_on": invoice.issued_at.astimezone(ZoneInfo(organisation.time_zone)).date(),
        "public_url": settings.PUBLIC_URL,
        "ledgers": ledger_names(),
    }


def render_text(invoice: BillingInvoice) -> str:
    return render_to_string("billing/invoice.txt", invoice_context(invoice))


def render_html(invoice: BillingInvoice) -> str:
    return render_to_string("billing/invoice.html", invoice_context(invoice))


def invoice_email(
    invoice: BillingInvoice, to: list[str], connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The invoice as an email: plain text with the HTML rendering as its alternative."""
    month = invoice.period_start.strftime("%B %Y")
    message = EmailMultiAlternatives(
        subject=f"LedgerLink invoice {invoice.number} for {month}: {invoice.amount:.2f} {invoice.currency}",
        body=render_text(invoice),
        to=to,
        connection=connection,
    )
    message.attach_alternative(render_html(invoice), "text/html")
    return message


def _unclaimed(now: datetime) -> Q:
    return Q(emailed_at__isnull=True, status=InvoiceStatus.ISSUED) & (
        Q(email_claimed_until__isnull=True) | Q(email_claimed_until__lt=now)
    )


def claim_emails(now: datetime) -> tuple[uuid.UUID, list[BillingInvoice]]:
    """Claim every unsent invoice nobody else holds, in one UPDATE, for this sender until the lease ends.
    Two senders at once never claim the same invoice: the second UPDATE re-checks each row it waited for."""
    token = uuid.uuid4()
    BillingInvoice.objects.filter(_unclaimed(now)).update(
        email_claim=token, email_claimed_until=now + EMAIL_LEASE
    )
    claimed = BillingInvoice.objects.filter(email_claim=token, emailed_at__isnull=True)
    return token, list(claimed.select_related("organisation").order_by("id"))


def _release(token: uuid.UUID) -> None:
    BillingInvoice.objects.filter(email_claim=token, emailed_at__isnull=True).update(
        email_claim=None, email_claimed_until=None
    )


def send_pending_emails(now: datetime) -> int:
    """Email every issued invoice not yet emailed; returns how many went out. When the mail server cannot be
    reached the claims are released at once; an invoice whose own email fails is retried once its claim
    lapses. A crash between sending and recording can send one duplicate email, never a duplicate invoice."""
    token, claimed = claim_emails(now)
    if not claimed:
        return 0
    try:
        connection = get_connection()
        connection.open()
    except OSError:
        logger.exception("billing: the mail server is unreachable; invoices are emailed on a later run")
        _release(token)
        return 0
    sent = 0
    with connection:
        for invoice in claimed:
            sent += _send_one(invoice, connection)
    return sent


def _send_one(invoice: BillingInvoice, connection: BaseEmailBackend) -> int:
    to = access.accounting_contacts(invoice.organisation)
    if not to:
        return 0
    try:
        invoice_email(invoice, to, connection).send()
    except Exception:
        # A mail server error, or one organisation's bad data: the others still go out.
        logger.exception("billing invoice %s: email failed; retried after the claim lapses", invoice.pk)
        return 0
    BillingInvoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
    return 1
