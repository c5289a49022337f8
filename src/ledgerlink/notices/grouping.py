"""The daily recap's content, pure: failed items in, groups out (one per setting that would fix them), with
counts, totals per currency and the first `limit` items kept for the email. No ORM, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

#: What an email shows before it points to the full list: a few hundred rows are unreadable in a mail client.
SHOWN_LIMIT = 50

# A currency's symbol; the code is always written too, since "$" alone is three currencies here.
SYMBOLS = {"AUD": "$", "NZD": "$", "USD": "$", "GBP": "\u00a3", "EUR": "\u20ac"}


def money(amount: Decimal, currency: str) -> str:
    """`$1,100.00 AUD`: symbol, amount with thousands separators, code."""
    return f"{SYMBOLS.get(currency, '')}{amount:,.2f} {currency}"


@dataclass(frozen=True)
class Setting:
    """The one setting a group of failures waits for: `key` is stable (a mapping field such as
    `tax_rate:<id>.tax_code`, or `ledger:<topic>` for a setting kept in the ledger itself)."""

    key: str
    title: str
    hint: str  # what to do, in plain words


@dataclass(frozen=True)
class FailedItem:
    invoice_id: str
    number: str
    customer: str
    amount: Decimal
    currency: str
    issued_on: dt.date | None
    reason: str
    since: dt.datetime
    setting: Setting

    @property
    def amount_text(self) -> str:
        return money(self.amount, self.currency)


@dataclass(frozen=True)
class Total:
    currency: str
    amount: Decimal

    @property
    def text(self) -> str:
        return money(self.amount, self.currency)


def totals(items: Iterable[FailedItem]) -> tuple[Total, ...]:
    """Sum per currency, in currency order (an organisation invoices in one, but nothing here assumes it)."""
    sums: dict[str, Decimal] = {}
    for item in items:
        sums[item.currency] = sums.get(item.currency, Decimal(0)) + item.amount
    return tuple(Total(currency, sums[currency]) for currency in sorted(sums))


@dataclass(frozen=True)
class Group:
    setting: Setting
    shown: tuple[FailedItem, ...]
    count: int
    totals: tuple[Total, ...]

    @property
    def hidden(self) -> int:
        return self.count - len(self.shown)


@dataclass(frozen=True)
class Recap:
    groups: tuple[Group, ...]
    count: int
    totals: tuple[Total, ...]

    @property
    def shown(self) -> int:
        return sum(len(group.shown) for group in self.groups)

    @property
    def hidden(self) -> int:
        return self.count - self.shown

    @property
    def empty(self) -> bool:
        return self.count == 0


def _unique(items: Iterable[FailedItem], key: Callable[[FailedItem], object]) -> list[FailedItem]:
    """The first item of each key, in order."""
    seen: set[object] = set()
    unique: list[FailedItem] = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            unique.append(item)
    return unique


def build_recap(items: Sequence[FailedItem], limit: int = SHOWN_LIMIT) -> Recap:
    """Group by setting, the largest group first (fixing it clears most), oldest failure first inside a
    group; keep the first `limit` items overall."""
    by_setting: dict[str, list[FailedItem]] = {}
    # An invoice and its payment can both wait: listed once per setting.
    for item in _unique(items, lambda item: (item.setting.key, item.invoice_id)):
        by_setting.setdefault(item.setting.key, []).append(item)
    ordered = sorted(by_setting.values(), key=lambda group: (-len(group), group[0].setting.title))
    groups: list[Group] = []
    budget = limit
    for members in ordered:
        members.sort(key=lambda item: (item.since, item.number))
        shown = tuple(members[: max(budget, 0)])
        budget -= len(shown)
        groups.append(Group(members[0].setting, shown, len(members), totals(members)))
    everything = [item for group in ordered for item in group]
    # An invoice waiting in two groups counts once in the grand total.
    distinct = _unique(everything, lambda item: item.invoice_id)
    return Recap(tuple(groups), len(distinct), totals(distinct))
