"""`ledgerlink push-history ORG_ID [--from DATE --to DATE | --ids ID ...]`: push invoices issued before
the connection, with a progress bar. The push is resumable: run it again (or let the workers finish it)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledgerlink.sync.history import NoConnection, Selection, refresh_progress, start_push
from ledgerlink.sync.models import HistoricalPush
from ledgerlink.sync.worker import sync_connection


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = "Push invoices issued before the ledger connection (all, a date range, or ids)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("organisation_id")
        parser.add_argument("--from", dest="date_from", type=_date)
        parser.add_argument("--to", dest="date_to", type=_date)
        parser.add_argument("--ids", nargs="+", default=[])
        parser.add_argument(
            "--background", action="store_true", help="Queue the push for the workers and return at once."
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["ids"] and (options["date_from"] or options["date_to"]):
            raise CommandError("Choose either --ids or a date range, not both.")
        selection = Selection(
            date_from=options["date_from"],
            date_to=options["date_to"],
            ids=tuple(options["ids"]),
        )
        try:
            push = start_push(options["organisation_id"], selection)
        except NoConnection as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"history push {push.pk}: {push.total} invoice(s) selected")
        if not options["background"]:
            self._drive(push)

    def _drive(self, push: HistoricalPush) -> None:
        """Run the worker here (beside any consumers; leases keep them apart) and show progress."""
        columns = (TextColumn("[bold]pushing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=None) as progress:
            bar = progress.add_task("push", total=push.total or 1)
            while push.state == HistoricalPush.State.RUNNING:
                report = sync_connection(push.connection_id, budget_s=10)
                push = refresh_progress(push)
                progress.update(bar, completed=push.done + push.failed)
                if report.claimed == 0 and push.state == HistoricalPush.State.RUNNING:
                    time.sleep(min(report.resume_in_s or 2.0, 10.0))
        self.stdout.write(f"done: {push.done} synced, {push.failed} need attention ({push.state})")
