"""Totals and tax for a sales form (quickbooks.md §2.2, §2.5, §10 item 13).

US (automated sales tax): lines carry ``TAX``/``NON``; the taxable amount is taxed at the rate of the
transaction's ``TxnTaxDetail.TxnTaxCodeRef`` or, when none is sent, the company's own jurisdiction code.
Elsewhere each line's TaxCode is applied per ``GlobalTaxCalculation``: ``TaxExcluded`` adds tax,
``TaxInclusive`` takes it out of the amounts, ``NotApplicable`` has none. ``ApplyTaxAfterDiscount`` taxes the
discounted amounts. Tax is rounded half-up to the cent per rate; QBO appends one ``SubTotalLineDetail``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .errors import invalid_ref
from .wire import CENT, obj, ref_value

if TYPE_CHECKING:
    from .books import Books

ZERO = Decimal("0.00")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _discount(lines: list[dict[str, Any]], subtotal: Decimal) -> Decimal:
    total = ZERO
    for line in lines:
        if line["DetailType"] != "DiscountLineDetail":
            continue
        detail = line["DiscountLineDetail"]
        if detail["PercentBased"]:
            line["Amount"] = _cents(subtotal * detail["DiscountPercent"] / 100)
        total += line["Amount"]
    return total


def _rates(books: Books, code_id: str) -> list[dict[str, Any]]:
    code = books.ledger["TaxCode"][code_id]
    return [
        books.ledger["TaxRate"][d["TaxRateRef"]["value"]] for d in code["SalesTaxRateList"]["TaxRateDetail"]
    ]


def _tax_line(rate: dict[str, Any], base: Decimal, inclusive: bool) -> dict[str, Any]:
    value = rate["RateValue"]
    tax = _cents(base * value / (100 + value)) if inclusive else _cents(base * value / 100)
    net = base - tax if inclusive else base
    detail = {
        "TaxRateRef": {"value": rate["Id"]},
        "PercentBased": True,
        "TaxPercent": value,
        "NetAmountTaxable": _cents(net),
    }
    return {"Amount": tax, "DetailType": "TaxLineDetail", "TaxLineDetail": detail}


def _us_tax(books: Books, record: dict[str, Any], factor: Decimal) -> tuple[dict[str, Any], Decimal]:
    sent = obj(record.get("TxnTaxDetail"))
    code_id = ref_value(sent.get("TxnTaxCodeRef")) or books.ledger["ast_code"]
    if code_id not in books.ledger["TaxCode"] or not _rates(books, code_id):
        raise invalid_ref("TxnTaxDetail.TxnTaxCodeRef", code_id)
    taxable = sum(
        (
            line["Amount"]
            for line in _sales(record)
            if line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "TAX"
        ),
        ZERO,
    )
    lines = [_tax_line(rate, taxable * factor, inclusive=False) for rate in _rates(books, code_id)]
    total_tax = sum((line["Amount"] for line in lines), ZERO)
    return {"TxnTaxCodeRef": {"value": code_id}, "TotalTax": total_tax, "TaxLine": lines}, total_tax


def _global_tax(books: Books, record: dict[str, Any], factor: Decimal) -> tuple[dict[str, Any], Decimal]:
    mode = record["GlobalTaxCalculation"]
    if mode == "NotApplicable":
        return {"TotalTax": ZERO, "TaxLine": []}, ZERO
    bases: dict[str, Decimal] = {}
    for line in _sales(record):
        code = line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        bases[code] = bases.get(code, ZERO) + line["Amount"] * factor
    lines = [
        _tax_line(rate, base, inclusive=mode == "TaxInclusive")
        for code, base in bases.items()
        for rate in _rates(books, code)
    ]
    total_tax = sum((line["Amount"] for line in lines), ZERO)
    return {"TotalTax": total_tax, "TaxLine": lines}, total_tax if mode == "TaxExcluded" else ZERO


def _sales(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in record["Line"] if line["DetailType"] == "SalesItemLineDetail"]


def compute_tax(books: Books, record: dict[str, Any]) -> Decimal:
    """Fill ``TxnTaxDetail`` and the subtotal line; return the transaction total."""
    subtotal = sum((line["Amount"] for line in _sales(record)), ZERO)
    discount = _discount(record["Line"], subtotal)
    factor = Decimal(1)
    if record["ApplyTaxAfterDiscount"] and subtotal:
        factor = (subtotal - discount) / subtotal
    detail, added_tax = (_us_tax if books.us else _global_tax)(books, record, factor)
    record["TxnTaxDetail"] = detail
    record["Line"].append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return subtotal - discount + added_tax
