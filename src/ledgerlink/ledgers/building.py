"""What every ledger's `build` shares: money to the cent, batches, the remote ids and accounts an item
needs, and a cancelled invoice's lines scaled to the credit that cancels it. Pure functions on the
contract's dataclasses; Decimal in, Decimal out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar
from urllib.parse import quote

from ledgerlink.ledgers.contract import (
    AccountRef,
    Invoice,
    InvoiceLine,
    ObjectKind,
    Payment,
    ResolvedMapping,
    SyncItem,
)

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")  # unit amounts: a price per watt has four places
T = TypeVar("T")


class MappingMissing(ValueError):
    """A payload needs a mapping that is not there. Pre-flight (validation.py) catches this before any call;
    reaching it means the engine skipped pre-flight."""


def money(amount: Decimal) -> Decimal:
    """Exactly two places; CashFlow amounts already are, so this only fixes the exponent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_amount(amount: Decimal) -> Decimal:
    """A unit amount as CashFlow keeps it: two places when whole cents, else four (a price per watt)."""
    return money(amount) if amount == money(amount) else amount.quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)


def chunks(items: Sequence[T], size: int) -> Iterable[tuple[T, ...]]:
    """`items` cut into tuples of at most `size`, in order (one batch request each)."""
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def remote_id(item: SyncItem, name: str) -> str:
    """A remote id the item depends on ("contact", "invoice", "payment"); the engine syncs those first."""
    value = item.remote_ids.get(name, "")
    if not value:
        raise ValueError(f"Record {item.record_id} ({item.kind}) has no remote {name} id: sync that first.")
    return value


def payment_account(payment: Payment, mapping: ResolvedMapping) -> AccountRef:
    """The account a payment lands in, by its method, else the default; pre-flight reports a missing one."""
    account = mapping.payment_account_for(payment.method)
    if account is None:
        raise MappingMissing(f"No payment account for {payment.method} payments.")
    return account


def _line_total(line: InvoiceLine, tax_inclusive: bool) -> Decimal:
    return line.line_amount if tax_inclusive else line.line_amount + line.tax_amount


def credit_lines(invoice: Invoice, credit: Decimal) -> list[InvoiceLine]:
    """The invoice's lines scaled to `credit` (one unit each): each line's total and tax scaled and rounded
    half-up to the cent, the last line absorbing the rounding so the lines sum to `credit` exactly."""
    if credit == invoice.total:
        return list(invoice.lines)
    factor = credit / invoice.total
    scaled: list[InvoiceLine] = []
    remaining = credit
    for index, line in enumerate(invoice.lines):
        last = index == len(invoice.lines) - 1
        total = remaining if last else money(_line_total(line, invoice.tax_inclusive) * factor)
        remaining -= total
        tax = money(line.tax_amount * factor)
        amount = total if invoice.tax_inclusive else total - tax
        scaled.append(_one_unit(line, amount, tax))
    return scaled


def _one_unit(line: InvoiceLine, amount: Decimal, tax: Decimal) -> InvoiceLine:
    return InvoiceLine(
        line_type=line.line_type,
        description=line.description,
        quantity=Decimal(1),
        unit_amount=amount,
        line_amount=amount,
        tax_amount=tax,
        tax_rate_id=line.tax_rate_id,
        tax_rate_percent=line.tax_rate_percent,
    )


def web_link(
    base: str, pages: Mapping[ObjectKind, str], kind: ObjectKind, tenant_id: str, object_id: str
) -> str:
    """A ledger's page for one object: `base` (the app's address, from settings) and the kind's page, whose
    `{id}` and `{tenant}` are filled in escaped; "" for a kind without a page or an object without an id."""
    page = pages.get(kind)
    if not page or not object_id:
        return ""
    return base.rstrip("/") + page.format(id=quote(object_id, safe=""), tenant=quote(tenant_id, safe=""))
