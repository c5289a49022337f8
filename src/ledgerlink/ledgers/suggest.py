"""A first mapping proposed from the chart, so setup can finish in one sitting: each CashFlow tax rate gets
the active revenue tax rate with the same percentage and the main sales account; payments get the first
bank account. The user reviews it before anything is sent; nothing here writes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate

# Names accountants give the main income account, best first (most default charts call it "Sales").
SALES_NAMES = ("sales", "revenue", "income")
# Words in tax rate names: for ordinary sales, or for another use (exports, purchases, capital).
SALES_WORDS = {"income", "sales", "output"}
OTHER_USE_WORDS = {"export", "exports", "import", "imports", "capital", "expenses", "purchases", "excluded"}


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


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _fit(ledger_name: str, cashflow_name: str) -> int:
    """How well a ledger tax rate's name fits: shared words count most (“Zero rated” finds “Zero Rated
    Income”, “Exempt” finds “Exempt Income”), then words that say it is for ordinary sales."""
    words = _words(ledger_name)
    score = 2 * len(words & (_words(cashflow_name) - {"gst", "vat", "tax", "sales"}))
    score += len(words & SALES_WORDS) - 2 * len(words & OTHER_USE_WORDS)
    return score


def tax_rate_for(chart: Chart, percent: Decimal, cashflow_name: str = "") -> LedgerTaxRate | None:
    """The active revenue tax rate with exactly this percentage whose name fits best."""
    active = (t for t in chart.tax_rates if t.status == "ACTIVE" and t.applies_to_revenue)
    usable = [t for t in active if t.rate == percent]
    return max(usable, key=lambda t: _fit(t.name, cashflow_name), default=None)


def payment_account(chart: Chart) -> LedgerAccount | None:
    return next((a for a in chart.accounts if a.status == "ACTIVE" and a.accepts_payments), None)


def propose(
    chart: Chart, tax_rates: Iterable[tuple[str, Decimal] | tuple[str, Decimal, str]]
) -> MappingProposal:
    """`tax_rates`: (CashFlow tax rate id, percentage[, name]); the name helps pick among equal rates."""
    account = sales_account(chart)
    return MappingProposal(
        tax_rates=tuple(
            TaxRateProposal(rid, account, tax_rate_for(chart, pct, "".join(name)))
            for rid, pct, *name in tax_rates
        ),
        payment_account=payment_account(chart),
    )
