"""API usage metering: standard calls per organisation and key, the connector's exempt traffic per kind.

One counter row per (organisation, local month, key, kind, provider), bumped with a single
`UPDATE ... SET calls = calls + n`; the row is inserted only the first time in a month. Nothing here reads the
request body or stores anything per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from ledgerlink.billing.models import ApiUsage, UsageKind
from ledgerlink.cashflow.models import Organisation


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def _organisation_zone_name(organisation_id: UUID | str) -> str:
    # Ledger-call signals carry only the id; a time zone rarely changes, so one lookup per process will do.
    return Organisation.objects.values_list("time_zone", flat=True).get(pk=organisation_id)


def local_month(time_zone: str, now: datetime | None = None) -> date:
    """The 1st of the current month in `time_zone`."""
    return (now or timezone.now()).astimezone(_zone(time_zone)).date().replace(day=1)


def record(
    organisation_id: UUID | str,
    month: date,
    kind: str,
    *,
    api_key_id: int | None = None,
    provider: str = "",
    calls: int = 1,
) -> None:
    """Add `calls` to one counter. Safe inside a caller's transaction: a lost insert race is retried as an
    update inside a savepoint, so the caller's transaction is never poisoned."""
    counter = ApiUsage.objects.filter(
        organisation_id=organisation_id, month=month, kind=kind, provider=provider, api_key_id=api_key_id
    )
    if counter.update(calls=F("calls") + calls):
        return
    try:
        with transaction.atomic():
            ApiUsage.objects.create(
                organisation_id=organisation_id,
                month=month,
                kind=kind,
                provider=provider,
                api_key_id=api_key_id,
                exempt=kind != UsageKind.API,
                calls=calls,
            )
    except IntegrityError:
        counter.update(calls=F("calls") + calls)


def record_api_call(organisation: Organisation, api_key_id: int | None, now: datetime | None = None) -> None:
    """Count one standard (billable) call to the API."""
    record(organisation.pk, local_month(organisation.time_zone, now), UsageKind.API, api_key_id=api_key_id)


def record_exempt(
    organisation_id: UUID | str,
    kind: str,
    *,
    provider: str = "",
    calls: int = 1,
    now: datetime | None = None,
) -> None:
    """Count the connector's own traffic (exempt from usage fees)."""
    month = local_month(_organisation_zone_name(organisation_id), now)
    record(organisation_id, month, kind, provider=provider, calls=calls)


@dataclass(frozen=True)
class KeyUsage:
    api_key_id: int | None
    name: str
    prefix: str
    calls: int


@dataclass(frozen=True)
class ExemptUsage:
    kind: str
    provider: str
    calls: int


@dataclass(frozen=True)
class UsageReport:
    """One organisation's month: what counts toward usage fees, and what the connector used for free."""

    month: date
    standard: list[KeyUsage]
    exempt: list[ExemptUsage]

    @property
    def standard_total(self) -> int:
        return sum(row.calls for row in self.standard)

    @property
    def exempt_total(self) -> int:
        return sum(row.calls for row in self.exempt)


def report(organisation_id: UUID | str, month: date) -> UsageReport:
    """The usage report of one organisation for the month starting on `month` (a 1st)."""
    rows = ApiUsage.objects.filter(organisation_id=organisation_id, month=month)
    standard = (
        rows.filter(exempt=False)
        .values("api_key_id", "api_key__name", "api_key__prefix")
        .annotate(total=Sum("calls"))
        .order_by("-total", "api_key_id")
    )
    exempt = rows.filter(exempt=True).values("kind", "provider").annotate(total=Sum("calls"))
    return UsageReport(
        month=month,
        standard=[
            KeyUsage(
                row["api_key_id"], row["api_key__name"] or "", row["api_key__prefix"] or "", row["total"]
            )
            for row in standard
        ],
        exempt=[
            ExemptUsage(row["kind"], row["provider"], row["total"])
            for row in exempt.order_by("kind", "provider")
        ],
    )
