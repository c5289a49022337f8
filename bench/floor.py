"""The fewest calls Xero's rules allow for a backfill, and the time its rate limits force for a number of
calls. Pure arithmetic on the same numbers the sandbox enforces (docs/sandbox.md "Rate limits", "Reads";
xero.md sections 2 and 5), so the benchmark's denominators never come from the engine being measured."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MINUTE_S = 60.0
DAY_S = 86_400.0


@dataclass(frozen=True)
class XeroRules:
    """The provider rules the floor is computed from."""

    batch: int = 50  # elements per PUT: "about 50 elements per request" (xero.md 2, "Size")
    page_size: int = 1000  # pageSize is clamped to 1..1000 (xero.md 2, "Paging"; the sandbox clamps too)
    per_minute: int = 60  # per app and tenant (xero.md 5; sandbox limiter default)
    per_day: int = 5000
    in_flight: int = 5
    # Connecting: the token exchange, GET /connections (which tenant), GET /Accounts and GET /TaxRates
    # (the codes every invoice line needs). Tracking categories are optional, so not in the floor.
    setup_calls: int = 4
    # Whether a list's first page says how many pages there are (Xero's `pagination.pageCount`): if not, a
    # list of exactly N full pages ends only when page N + 1 comes back short.
    page_count_known: bool = True


XERO = XeroRules()


@dataclass(frozen=True)
class BackfillShape:
    """What a backfill has to put in the ledger."""

    invoices: int
    payments: int
    customers: int
    existing_contacts: int  # active contacts already in the tenant (matched by email, never created)


@dataclass(frozen=True)
class Floor:
    """The floor, term by term (BENCHMARKS.md prints each one)."""

    setup: int
    contact_reads: int
    contact_writes: int
    invoice_writes: int
    payment_writes: int

    @property
    def total(self) -> int:
        return (
            self.setup + self.contact_reads + self.contact_writes + self.invoice_writes + self.payment_writes
        )

    def as_json(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def calls_floor(shape: BackfillShape, rules: XeroRules = XERO) -> Floor:
    """Setup, one paged read of the tenant's active contacts (a page of `page_size` answers every email and
    name at once; one call even when the tenant is empty, to learn that it is; one more after an exact
    number of full pages where no page says how many there are), then full batches of contacts to create,
    invoices and payments."""
    to_create = max(shape.customers - shape.existing_contacts, 0)
    if rules.page_count_known:
        contact_reads = max(1, math.ceil(shape.existing_contacts / rules.page_size))
    else:
        contact_reads = shape.existing_contacts // rules.page_size + 1
    return Floor(
        setup=rules.setup_calls,
        contact_reads=contact_reads,
        contact_writes=math.ceil(to_create / rules.batch),
        invoice_writes=math.ceil(shape.invoices / rules.batch),
        payment_writes=math.ceil(shape.payments / rules.batch),
    )


def forced_seconds(calls: int, rules: XeroRules = XERO) -> float:
    """Sandbox seconds the rate limits force on `calls` at the WORST window alignment: a client that starts
    just as the minute and day windows open and never waits needlessly must wait for each window after the
    first."""
    if calls <= 0:
        return 0.0
    minutes = (math.ceil(calls / rules.per_minute) - 1) * MINUTE_S
    days = (math.ceil(calls / rules.per_day) - 1) * DAY_S
    return max(minutes, days)


def forced_seconds_best(calls: int, rules: XeroRules = XERO) -> float:
    """Sandbox seconds the rate limits force on `calls` at the BEST window alignment: a client that starts
    just before a window closes spends that window's whole budget and the next one's at once, so it waits
    for one window fewer. Xero's windows sit at a per-tenant offset no client chooses, so a product beating
    this has used the budget as well as it can be used."""
    if calls <= 0:
        return 0.0
    minutes = max(math.ceil(calls / rules.per_minute) - 2, 0) * MINUTE_S
    days = max(math.ceil(calls / rules.per_day) - 2, 0) * DAY_S
    return max(minutes, days)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None where the denominator is zero (a run too small to be rate-bound)."""
    return round(numerator / denominator, 3) if denominator > 0 else None
