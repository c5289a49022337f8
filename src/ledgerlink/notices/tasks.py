"""Huey schedules for notices (UTC crontab; each run acts on what is due, see schedule.py)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/5"))
def recap_task() -> int:
    """Every five minutes, so an organisation's recap leaves within minutes of its local hour, whatever its
    zone (a half-hour or 45-minute offset included)."""
    from ledgerlink.notices.schedule import run_recaps

    return run_recaps(timezone.now())


@db_periodic_task(crontab(minute="*"))
def alerts_task() -> int:
    """Every minute: an alert is meant to go out at once."""
    from ledgerlink.notices.schedule import run_alerts

    return run_alerts(timezone.now())
