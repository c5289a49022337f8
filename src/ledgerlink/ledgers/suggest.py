"""A first mapping proposed from the chart, so setup can finish in one sitting: each CashFlow tax rate gets
the active revenue tax rate with the same percentage and the main sales account; payments get the first
bank account. The user reviews it before anything is sent; nothing here writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate

# Names accountants give the main income account, best first (Xero's default charts call it "Sales").
SALES_NAMES = ("sales", "revenue", "income")


@dataclass(frozen=True)
class TaxRateProposal:
    tax_rate_id: str
    account: LedgerAccount | None
    tax: LedgerTaxRate | None


@dataclass(frozen=True)
class MappingProposal:
    tax_rates: tuple[TaxRateProposal, ...]
    payment_account: LedgerAccount | None


def sales_account(chart: Chart) -> LedgerAccount | None:
    revenue = [a for a in chart.accounts if a.status == "ACTIVE" and a.is_revenue]
    for name in SALES_NAMES:
        match = next((a for a in revenue if name in a.name.lower()), None)
        if match:
            return match
    return revenue[0] if revenue else None


def tax_rate_for(chart: Chart, percent: Decimal) -> LedgerTaxRate | None:
    """The active revenue tax rate with exactly this percentage (0% prefers a name that says so)."""
    usable = [
        t for t in chart.tax_rates if t.status == "ACTIVE" and t.applies_to_revenue and t.rate == percent
    ]
    if percent == 0:
        usable.sort(key=lambda t: not any(w in t.name.lower() for w in ("exempt", "free", "zero", "no ")))
    return usable[0] if usable else None


def payment_account(chart: Chart) -> LedgerAccount | None:
    return next((a for a in chart.accounts if a.status == "ACTIVE" and a.accepts_payments), None)


def propose(chart: Chart, tax_rates: Iterable[tuple[str, Decimal]]) -> MappingProposal:
    """`tax_rates`: (CashFlow tax rate id, percentage) pairs."""
    account = sales_account(chart)
    return MappingProposal(
        tax_rates=tuple(TaxRateProposal(rid, account, tax_rate_for(chart, pct)) for rid, pct in tax_rates),
        payment_account=payment_account(chart),
    )
