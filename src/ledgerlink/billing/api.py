"""`GET /api/v1/usage?month=YYYY-MM`: one organisation's API usage in a month, standard and exempt.
Mounted on the cashflow API from BillingConfig.ready(), so cashflow never imports billing."""

from __future__ import annotations

from datetime import date

from ninja import NinjaAPI, Query, Router, Schema
from ninja.errors import AuthenticationError
from pydantic import Field, field_validator

from ledgerlink.billing import usage
from ledgerlink.cashflow.schemas import READ_ERRORS

router = Router(tags=["usage"])

# ASCII digits only (`\d` would also take Arabic-Indic or fullwidth digits); year 0000 is no calendar month.
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class UsageQuery(Schema):
    month: str | None = Field(None, pattern=MONTH_PATTERN, description="YYYY-MM; default: this month")

    @field_validator("month")
    @classmethod
    def _a_real_month(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("0000"):
            raise ValueError("A month as YYYY-MM from 0001-01 on.")
        return value


class KeyCalls(Schema):
    api_key_id: int | None
    name: str
    prefix: str
    calls: int


class ExemptCalls(Schema):
    kind: str
    provider: str
    calls: int


class StandardUsage(Schema):
    total: int = Field(description="Calls that count toward API usage fees")
    by_key: list[KeyCalls]


class ExemptUsage(Schema):
    total: int = Field(description="The connector's own traffic: never counts toward usage fees")
    by_kind: list[ExemptCalls]


class UsageOut(Schema):
    month: str
    time_zone: str
    standard: StandardUsage
    exempt: ExemptUsage


@router.get(
    "/usage",
    # Documented as the API's other reads are: a missing key is a 401, a bad month a field-level 422.
    response={200: UsageOut, 401: READ_ERRORS[401], 422: READ_ERRORS[422]},
    summary="API usage in a month: standard calls by key, exempt by kind",
)
def usage_report(request, query: Query[UsageQuery]) -> UsageOut:
    organisation = getattr(request, "ledgerlink_organisation", None)
    if organisation is None:
        raise AuthenticationError()
    month = (
        date.fromisoformat(f"{query.month}-01") if query.month else usage.local_month(organisation.time_zone)
    )
    found = usage.report(organisation.pk, month)
    return UsageOut(
        month=f"{month:%Y-%m}",
        time_zone=organisation.time_zone,
        standard=StandardUsage(
            total=found.standard_total,
            by_key=[KeyCalls(**row.__dict__) for row in found.standard],
        ),
        exempt=ExemptUsage(
            total=found.exempt_total, by_kind=[ExemptCalls(**row.__dict__) for row in found.exempt]
        ),
    )


_mounted_on: set[int] = set()


def mount(api: NinjaAPI) -> None:
    """Add the usage routes to `api` once (ready() can run more than once in a process)."""
    if id(api) not in _mounted_on:
        api.add_router("", router)
        _mounted_on.add(id(api))
