"""Sync health: what was sent and what failed per day (a server-drawn SVG chart), how much waits in the
queue, the connection's state, and the searchable log of every request made to the ledger
(`sync.models.Attempt`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers import connections, registry
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.sync import ratelimit
from ledgerlink.sync.models import Attempt, SyncRecord, SyncState

DAYS = 14
CHART_HEIGHT = 120
BAR_WIDTH = 16
# Outcomes of an attempt that delivered what it carried; anything else failed (for now or for good).
DELIVERED = {"ok", "partial"}
QUEUED = (SyncState.PENDING, SyncState.IN_FLIGHT, SyncState.RETRYING)
LOG_PAGE = 50


@dataclass(frozen=True)
class Day:
    day: datetime.date
    synced: int
    failed: int
    x: int
    synced_height: int
    failed_height: int


def per_day(organisation: Organisation, today: datetime.date) -> list[Day]:
    """Items sent (synced) and attempts failed for each of the last DAYS local days, scaled for the chart."""
    zone = ZoneInfo(organisation.time_zone)
    start = datetime.datetime.combine(today - datetime.timedelta(days=DAYS - 1), datetime.time(), zone)
    counts = {today - datetime.timedelta(days=n): [0, 0] for n in range(DAYS)}
    attempts = Attempt.objects.filter(organisation=organisation, started_at__gte=start)
    for started_at, outcome, items in attempts.values_list("started_at", "outcome", "item_count"):
        day = started_at.astimezone(zone).date()
        if day in counts:
            counts[day][0 if outcome in DELIVERED else 1] += items if outcome in DELIVERED else 1
    tallest = max([max(pair) for pair in counts.values()] + [1])
    return [
        Day(day, s, f, i * (2 * BAR_WIDTH + 8), s * CHART_HEIGHT // tallest, f * CHART_HEIGHT // tallest)
        for i, (day, (s, f)) in enumerate(sorted(counts.items()))
    ]


def search_log(organisation: Organisation, query: str) -> QuerySet[Attempt]:
    attempts = Attempt.objects.filter(organisation=organisation).order_by("-started_at")
    if query:
        attempts = attempts.filter(
            Q(path__icontains=query)
            | Q(outcome__icontains=query)
            | Q(error_message__icontains=query)
            | Q(error_code__icontains=query)
            | Q(correlation_id__icontains=query)
            | Q(idempotency_key__icontains=query)
        )
    return attempts


@login_required
def health(request: HttpRequest, organisation_id: str) -> HttpResponse:
    org, is_admin = access.organisation_for(request.user, organisation_id)
    today = timezone.now().astimezone(ZoneInfo(org.time_zone)).date()
    connection = connections.live_connection(org)
    query = request.GET.get("q", "").strip()
    log = Paginator(search_log(org, query), LOG_PAGE).get_page(request.GET.get("page"))
    days = per_day(org, today)
    context = {
        "organisation": org,
        "is_admin": is_admin,
        "connection": connection,
        "provider_name": provider_name(connection.provider) if connection else "",
        "days": days,
        "chart_width": len(days) * (2 * BAR_WIDTH + 8),
        "chart_height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "queued": SyncRecord.objects.filter(organisation=org, state__in=QUEUED).count(),
        "waiting": SyncRecord.objects.filter(organisation=org, state=SyncState.NEEDS_ATTENTION).count(),
        "query": query,
        "log": log,
        "headroom": _headroom(connection),
    }
    return render(request, "web/health.html", context)


def _headroom(connection: Connection | None) -> ratelimit.Headroom | None:
    """The connection's rate-limit budget as the sync workers share it, against its ledger's own figures."""
    if connection is None:
        return None
    limits = registry.LEDGERS[connection.provider].limits
    return ratelimit.headroom(connection.provider, connection.tenant_id, limits)
