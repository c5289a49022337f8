"""The billing job: issue every invoice that is due up to each organisation's local today, then email them.

Idempotent and catching up: every run recomputes what is due from `rules` and each span's cursor, so a run
after downtime issues every missed month, and a second run (or a second scheduler at the same time) issues
nothing new: the unique (organisation, period_start) key decides, not the cursor or the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import F, Q

from ledgerlink.billing import rules
from ledgerlink.billing.invoicing import issue_invoice, send_pending_emails
from ledgerlink.billing.models import Enablement, Subscription, SubscriptionStatus
from ledgerlink.billing.services import local_today

logger = logging.getLogger(__name__)
MAX_UTC_OFFSET = timedelta(hours=14)


@dataclass(frozen=True)
class BillingRun:
    """What one run did."""

    spans_checked: int
    invoices_issued: int
    emails_sent: int
    spans_failed: int = 0


def due_spans(horizon: date) -> list[Enablement]:
    """Enabled spans whose next 1st is on or before `horizon`, and that still bill it."""
    return list(
        Enablement.objects.filter(next_bill_on__lte=horizon)
        .filter(Q(cancelled_on__isnull=True) | Q(next_bill_on__lte=F("cancelled_on")))
        .select_related("subscription__organisation", "acceptance")
        .order_by("id")
    )


def bill_span(span: Enablement, now: datetime, as_of: date | None = None) -> int:
    """Issue the span's due invoices up to the organisation's local today (or `as_of`); returns how many
    were new."""
    today = as_of or local_today(span.subscription.organisation, now)
    due = rules.span_billing_dates(span.next_bill_on, today, span.cancelled_on)
    issued = sum(issue_invoice(span, first, now) is not None for first in due)
    if due:
        # Only forward: a slower concurrent run must not move the cursor back.
        cursor = rules.first_of_next_month(due[-1])
        Enablement.objects.filter(pk=span.pk, next_bill_on__lt=cursor).update(next_bill_on=cursor)
        if span.subscription.status == SubscriptionStatus.TRIAL:
            Subscription.objects.filter(pk=span.subscription_id, status=SubscriptionStatus.TRIAL).update(
                status=SubscriptionStatus.ACTIVE
            )
    return issued


def run_billing(
    now: datetime,
    as_of: date | None = None,
    track: Callable[[Sequence[Enablement]], Iterable[Enablement]] = lambda spans: spans,
) -> BillingRun:
    """One billing run at the instant `now` (injected so tests and catch-up runs control the clock). Each
    organisation bills up to its local date at `now`, or up to `as_of` for every organisation when given.
    `track` wraps the spans (the CLI passes a progress bar)."""
    # No zone is more than 14 hours ahead of UTC (Pacific/Kiritimati): a cheap bound for the due query.
    spans = due_spans(as_of or (now + MAX_UTC_OFFSET).date())
    issued = failed = 0
    for span in track(spans):
        try:
            issued += bill_span(span, now, as_of)
        except Exception:
            # One organisation's bad data must not stop everyone's billing; its months stay due and the
            # next run retries them.
            logger.exception("billing failed for organisation %s", span.subscription.organisation_id)
            failed += 1
    return BillingRun(len(spans), issued, send_pending_emails(now), failed)
