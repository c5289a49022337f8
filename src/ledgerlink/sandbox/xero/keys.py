"""The look-up indexes over one Xero organisation's books (`control/keys.py`): contacts by name and by
number, documents by number, each compared as Xero compares them (trimmed, without case)."""

from __future__ import annotations

from typing import Any

from ..control.keys import BookIndex, Key, field


def fold(value: Any) -> str:
    """A key as the rules compare it: trimmed, without case."""
    return str(value).strip().lower()


INDEX = BookIndex(
    "_keys",
    [
        Key("contacts", "Name", "ContactID", field("Name"), fold),
        Key("contacts", "ContactNumber", "ContactID", field("ContactNumber"), fold),
        Key("invoices", "InvoiceNumber", "InvoiceID", field("InvoiceNumber"), fold),
        Key("credit_notes", "CreditNoteNumber", "CreditNoteID", field("CreditNoteNumber"), fold),
    ],
)
with_key = INDEX.with_key
taken = INDEX.taken
saved = INDEX.saved
