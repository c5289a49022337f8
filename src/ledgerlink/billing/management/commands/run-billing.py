"""`ledgerlink run-billing [--today YYYY-MM-DD]`: run the billing job once, as the hourly task does."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.progress import track

from ledgerlink.billing.scheduler import run_billing


class Command(BaseCommand):
    help = "Issue and email every connector invoice due by now (or by --today in every time zone), once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today", help="Bill as if it were this local date (YYYY-MM-DD) in every organisation's zone"
        )

    def handle(self, *args: object, **options: object) -> None:
        as_of = None
        if options["today"]:
            try:
                as_of = date.fromisoformat(str(options["today"]))
            except ValueError as exc:
                raise CommandError(
                    f"--today must be a date like 2027-01-01, not {options['today']!r}"
                ) from exc
        result = run_billing(
            timezone.now(), as_of, track=lambda spans: track(spans, description="Billing", transient=True)
        )
        self.stdout.write(
            f"Checked {result.spans_checked} subscriptions, issued {result.invoices_issued} invoices, "
            f"emailed {result.emails_sent}."
        )
        if result.spans_failed:
            raise CommandError(
                f"{result.spans_failed} subscriptions failed (logged); they are retried next run."
            )
