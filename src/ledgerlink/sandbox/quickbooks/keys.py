"""The look-up indexes over one QuickBooks company's books (`control/keys.py`): names across the name lists
(compared without case, quickbooks.md 6240), document numbers per transaction type (compared as sent, 6140),
the documents each payment applies to (to settle a balance) and each customer's invoices (its balance)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..control.keys import BookIndex, Key, field

NAME_LISTS = ("Customer", "Vendor", "Employee")
SALES_FORMS = ("Invoice", "CreditMemo", "RefundReceipt")


def _casefold(value: Any) -> str:
    return str(value).casefold()


def applied_to(payment: dict[str, Any]) -> Iterable[Any]:
    """The documents a payment's lines apply to, as "Type:Id"."""
    for line in payment.get("Line") or ():
        if line.get("LinkedTxn"):
            linked = line["LinkedTxn"][0]
            yield f"{linked['TxnType']}:{linked['TxnId']}"


def _customer_of(document: dict[str, Any]) -> Iterable[Any]:
    return ((document.get("CustomerRef") or {}).get("value"),)


INDEX = BookIndex(
    "_keys",
    [
        *(Key(kind, "DisplayName", "Id", field("DisplayName"), _casefold) for kind in NAME_LISTS),
        *(Key(form, "DocNumber", "Id", field("DocNumber")) for form in SALES_FORMS),
        Key("Payment", "applied_to", "Id", applied_to),
        Key("Invoice", "CustomerRef", "Id", _customer_of),
    ],
)
