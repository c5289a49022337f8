"""Steps every end-to-end world takes (the Xero world used by the bench too, and the any-ledger world):
map from the ledgers' suggestion, and drive the worker until nothing is due. Imports only the product, so
the bench can load it outside pytest."""

from __future__ import annotations

import time

from django.utils import timezone

from ledgerlink.cashflow.models import TaxRate
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.models import Connection, PaymentAccountMapping, TaxRateMapping
from ledgerlink.ledgers.suggest import propose
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.worker import RunReport, sync_connection


def drain(connection: Connection, rounds: int = 12) -> list[RunReport]:
    """Run the worker until nothing is due; short waits (backoff, rate limit) are slept through."""
    reports = []
    for _ in range(rounds):
        reports.append(sync_connection(connection.pk, budget_s=30))
        due = SyncRecord.objects.filter(
            connection=connection, state__in=(SyncState.PENDING, SyncState.RETRYING)
        ).order_by("next_attempt_at")
        first = due.first()
        if first is None:
            break
        wait = (first.next_attempt_at - timezone.now()).total_seconds()
        if wait > 20:
            break
        time.sleep(max(wait, 0))
    return reports


def map_from_suggestion(connection: Connection, gst: TaxRate) -> None:
    """Accept the ledgers' suggested mapping, as a user finishing setup in one sitting would."""
    chart = chart_for(connection)
    assert chart is not None, "the chart loads right after connecting (instant setup)"
    proposal = propose(chart, [(str(gst.pk), gst.rate)])
    suggestion = proposal.tax_rates[0]
    assert suggestion.account and suggestion.tax and proposal.payment_account
    TaxRateMapping.objects.create(
        organisation=connection.organisation,
        provider=connection.provider,
        tax_rate=gst,
        account_id=suggestion.account.id,
        account_code=suggestion.account.code,
        ledger_tax_code=suggestion.tax.code,
    )
    PaymentAccountMapping.objects.create(
        organisation=connection.organisation,
        provider=connection.provider,
        account_id=proposal.payment_account.id,
        account_code=proposal.payment_account.code,
        is_default=True,
    )
