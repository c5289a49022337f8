"""A first mapping proposed from the chart, so setup can finish in one sitting: each CashFlow tax rate gets
the active revenue tax rate with the same percentage whose name means the same (zero-rated to zero-rated,
exempt to exempt) and the main sales account; payments get the business bank account. Each proposal says
in a few words why it was chosen. The user reviews it before anything is sent; nothing here writes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledgerlink.ledgers.contract import Chart, LedgerAccount, LedgerTaxRate

# Names accountants give the main income account, best first (most default charts call it "Sales").
SALES_NAMES = ("sales", "revenue", "income")
# Words in tax rate names: for ordinary sales, or for another use (exports, purchases, capital, EC trade,
# reverse charge): a domestic installer's invoice is none of those.
SALES_WORDS = {"income", "sales", "output"}
OTHER_USE_WORDS = {
    "export", "exports", "import", "imports", "capital", "expenses", "purchases", "excluded", "ec", "reverse",
    "services",
}  # fmt: skip
# What a 0% rate is: zero-rated (taxable at 0%; "GST free" in Australia) or exempt (outside the tax).
# A name's meaning is matched by these words, whichever words each side uses for it.
MEANINGS = ({"zero", "free"}, {"exempt", "no", "none"})
# Words that say nothing about which rate it is.
NOISE = {"gst", "vat", "tax", "sales", "on", "the", "rate", "rated"}
# Payment accounts: the business's bank account, not a clearing, card or savings account.
NOT_THE_MAIN_BANK = {"savings", "saving", "clearing", "card", "credit", "petty", "undeposited", "loan"}
MAIN_BANK_WORDS = {"business", "checking", "cheque", "current", "operating", "main"}


@dataclass(frozen=True)
class TaxRateProposal:
    tax_rate_id: str
    account: LedgerAccount | None
    tax: LedgerTaxRate | None
    tax_reason: str = ""
    account_reason: str = ""


@dataclass(frozen=True)
class MappingProposal:
    tax_rates: tuple[TaxRateProposal, ...]
    payment_account: LedgerAccount | None
    payment_reason: str = ""


def percent(rate: Decimal | int | str) -> str:
    """ "20%", "12.5%", "0%": never an exponent (Decimal("20").normalize() prints as 2E+1). The web pages
    show rates with this too, so a reason and the field beside it read alike."""
    text = f"{Decimal(str(rate)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _active(chart: Chart) -> list[LedgerAccount]:
    return [a for a in chart.accounts if a.status == "ACTIVE"]


def sales_account(chart: Chart) -> LedgerAccount | None:
    revenue = [a for a in _active(chart) if a.is_revenue]
    for name in SALES_NAMES:
        match = next((a for a in revenue if name in a.name.lower()), None)
        if match:
            return match
    return revenue[0] if revenue else None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _meanings(words: set[str]) -> set[int]:
    return {index for index, meaning in enumerate(MEANINGS) if words & meaning}


def _fit(ledger_name: str, cashflow_name: str) -> tuple[int, int]:
    """How well a ledger tax rate's name fits, then how few words it adds: the same meaning counts most
    ("Zero rated" finds "Zero Rated Income", "Exempt" finds "Tax Exempt" or "No GST"), then shared words,
    then words saying it is for ordinary sales; words for another use count against it, so "Zero Rated
    Income" beats "Zero Rated EC Goods Income"."""
    ledger, ours = _words(ledger_name), _words(cashflow_name) - NOISE
    score = 4 * len(_meanings(ledger) & _meanings(ours)) + 2 * len(ledger & ours)
    score += len(ledger & SALES_WORDS) - 3 * len(ledger & OTHER_USE_WORDS)
    return score, -len(ledger - ours - SALES_WORDS - NOISE)


def tax_rate_for(chart: Chart, percentage: Decimal, cashflow_name: str = "") -> LedgerTaxRate | None:
    """The active revenue tax rate with exactly this percentage whose name fits best."""
    return _best_tax_rate(chart, percentage, cashflow_name)[0]


def _best_tax_rate(chart: Chart, percentage: Decimal, cashflow_name: str) -> tuple[LedgerTaxRate | None, str]:
    active = (t for t in chart.tax_rates if t.status == "ACTIVE" and t.applies_to_revenue)
    usable = [t for t in active if t.rate == percentage]
    if not usable:
        return None, ""
    best = max(usable, key=lambda t: _fit(t.name, cashflow_name))
    by_name = len(usable) > 1 and _fit(best.name, cashflow_name)[0] > 0
    return best, f"matched by rate {percent(percentage)}" + (" and name" if by_name else "")


def _bank_score(account: LedgerAccount) -> tuple[int, int]:
    words = _words(account.name)
    score = 4 * (account.type.upper() == "BANK") + len(words & MAIN_BANK_WORDS)
    score -= 5 * len(words & NOT_THE_MAIN_BANK)
    return score, -len(account.code or "~")


def payment_account(chart: Chart) -> LedgerAccount | None:
    paying = [a for a in _active(chart) if a.accepts_payments]
    return max(paying, key=_bank_score, default=None)


def propose(
    chart: Chart, tax_rates: Iterable[tuple[str, Decimal] | tuple[str, Decimal, str]]
) -> MappingProposal:
    """`tax_rates`: (CashFlow tax rate id, percentage[, name]); the name helps pick among equal rates."""
    account = sales_account(chart)
    account_reason = "the main sales account" if account else ""
    proposals = []
    for rid, pct, *name in tax_rates:
        tax, reason = _best_tax_rate(chart, pct, "".join(name))
        proposals.append(TaxRateProposal(rid, account, tax, reason, account_reason))
    bank = payment_account(chart)
    return MappingProposal(
        tax_rates=tuple(proposals),
        payment_account=bank,
        payment_reason="the business bank account" if bank else "",
    )
