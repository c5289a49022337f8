"""Huey schedule for billing. Huey's crontab is UTC and skips runs missed while nothing was running, so the
job runs hourly and catches up by itself: each local 1st is billed within the hour it begins."""

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ledgerlink.billing.scheduler import BillingRun, run_billing


@db_periodic_task(crontab(minute="7"))
def billing_hourly() -> BillingRun:
    """Issue and email every invoice due by now (idempotent; safe beside another scheduler)."""
    return run_billing(timezone.now())
