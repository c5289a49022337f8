"""The ledger's chart (accounts, tax rates, tracking categories), cached per connection. Loaded right after
connecting (instant setup), on demand, and daily by the sync engine's scheduler."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.utils import timezone

from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate, TrackingCategory
from ledgerlink.ledgers.models import ChartSnapshot, Connection
from ledgerlink.ledgers.registry import open_ledger
from ledgerlink.ledgers.tokens import ensure_fresh_token


def refresh_chart(connection: Connection) -> ChartSnapshot:
    """Load accounts, tax rates and tracking categories now (a few unpaged calls) and keep them."""
    connection = ensure_fresh_token(connection.pk)
    chart = open_ledger(connection).load_chart()
    snapshot, _ = ChartSnapshot.objects.update_or_create(
        connection=connection,
        defaults={
            "accounts": [dataclasses.asdict(a) for a in chart.accounts],
            "tax_rates": [{**dataclasses.asdict(t), "rate": str(t.rate)} for t in chart.tax_rates],
            "tracking": [{**dataclasses.asdict(t), "options": list(t.options)} for t in chart.tracking],
            "currencies": list(chart.currencies),
            "loaded_at": timezone.now(),
        },
    )
    return snapshot


def chart_for(connection: Connection) -> Chart | None:
    """The cached chart, or None before the first load."""
    snapshot = ChartSnapshot.objects.filter(connection=connection).first()
    if snapshot is None:
        return None
    return Chart(
        accounts=tuple(LedgerAccount(**a) for a in snapshot.accounts),
        tax_rates=tuple(LedgerTaxRate(**{**t, "rate": Decimal(t["rate"])}) for t in snapshot.tax_rates),
        tracking=tuple(TrackingCategory(**{**t, "options": tuple(t["options"])}) for t in snapshot.tracking),
        currencies=tuple(snapshot.currencies),
    )
