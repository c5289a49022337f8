"""`ledgerlink push-history ORG_ID [--from DATE --to DATE | --ids ID ...]`: push invoices issued before
the connection, with a progress bar. The push is resumable: run it again (or let the workers finish it)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledgerlink.sync.history import InvalidSelection, NoConnection, Selection, refresh_progress, start_push
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

# The CLI waits through short backoffs; longer waits are left to the workers (the push is resumable).
MAX_WAIT_S = 30.0


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = "Push invoices issued before the ledger connection (all, a date range, or ids)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation_id")
        parser.add_argument("--from", dest="date_from", type=_date)
        parser.add_argument("--to", dest="date_to", type=_date)
        parser.add_argument("--ids", nargs="+", default=[])
        parser.add_argument(
            "--background", action="store_true", help="Queue the push for the workers and return at once."
        )

    def handle(self, *args: object, **options: Any) -> None:
        selection = Selection(
            date_from=options["date_from"],
            date_to=options["date_to"],
            ids=tuple(options["ids"]),
        )
        try:
            push = start_push(options["organisation_id"], selection)
        except (NoConnection, InvalidSelection) as error:
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
                if report.claimed or push.state != HistoricalPush.State.RUNNING:
                    continue
                wait = _next_due_in(push)
                if wait is None or wait > MAX_WAIT_S:
                    break  # what is left waits on a retry later, the user, or a reconnect: the workers go on
                time.sleep(max(wait, 0.5))
        left = push.total - push.done - push.failed
        tail = f"; {left} still queued (the workers finish them)" if left else ""
        self.stdout.write(f"done: {push.done} synced, {push.failed} need attention ({push.state}){tail}")


def _next_due_in(push: HistoricalPush) -> float | None:
    """Seconds until the push's next open record is due; None when none is waiting to be tried."""
    due = (
        SyncRecord.objects.filter(history_push=push, state__in=(SyncState.PENDING, SyncState.RETRYING))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return None if due is None else (due - timezone.now()).total_seconds()
