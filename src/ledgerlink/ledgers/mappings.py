"""Mappings as the payload builders see them: the ORM rows of one organisation and provider, resolved into
a frozen `contract.ResolvedMapping`."""

from __future__ import annotations

from typing import Any

from ledgerlink.ledgers.contract import AccountRef, ResolvedMapping, TaxRateMapping
from ledgerlink.ledgers.models import (
    LineTypeMapping,
    PaymentAccountMapping,
    TrackingMapping,
)
from ledgerlink.ledgers.models import TaxRateMapping as TaxRateMappingRow


def _account(row: Any) -> AccountRef:
    return AccountRef(id=row.account_id, code=row.account_code)


def resolve_mapping(organisation: Any, provider: str) -> ResolvedMapping:
    """Everything mapped for `organisation` in `provider` (4 small queries), keyed as the contract keys it:
    tax rates by CashFlow tax rate id, line accounts by line type, payment accounts by method."""
    scope = {"organisation": organisation, "provider": provider}
    tax_rates = {
        str(row.tax_rate_id): TaxRateMapping(
            revenue_account=_account(row), ledger_tax_code=row.ledger_tax_code
        )
        for row in TaxRateMappingRow.objects.filter(**scope)
    }
    line_accounts = {row.line_type: _account(row) for row in LineTypeMapping.objects.filter(**scope)}
    payment_rows = list(PaymentAccountMapping.objects.filter(**scope))
    payment_accounts = {row.method: _account(row) for row in payment_rows if row.method}
    default = next((_account(row) for row in payment_rows if row.is_default), None)
    tracking = TrackingMapping.objects.filter(**scope).first()
    return ResolvedMapping(
        tax_rates=tax_rates,
        line_accounts=line_accounts,
        payment_accounts=payment_accounts,
        default_payment_account=default,
        tracking_category_id=tracking.category_id if tracking else "",
        tracking_category_name=tracking.category_name if tracking else "",
        tracking_options=dict(tracking.project_options) if tracking else {},
    )
