"""`ledgerlink sync-sweep`: what the every-minute schedule does, on demand (cron without huey, or ops)."""

from django.core.management.base import BaseCommand

from ledgerlink.sync.sweeper import sweep


class Command(BaseCommand):
    help = "Plan missed events, free lapsed leases, wake lost waiters, ring connections with due records."

    def handle(self, *args: object, **options: object) -> None:
        report = sweep()
        self.stdout.write(
            f"planned {report.events_planned} missed record(s), "
            f"freed {report.leases_expired} lapsed lease(s), woke {report.waiters_woken} waiting record(s), "
            f"rang {report.connections_rung} connection(s)"
        )
