"""The QuickBooks sandbox answers its rules from indexes, not by scanning the company's books (the real
service answers a create in the same time whatever the size of the books; a scanning sandbox made a
10,000-invoice benchmark measure the sandbox): names, document numbers, the balance a payment settles, a
customer's balance. Each rule is checked with the growing stores made unscannable, and against indexes
that must follow renames, renumbering, voids and deletes, or be rebuilt for books made before them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.sandbox.quickbooks import seed
from ledgerlink.sandbox.quickbooks.books import Books
from ledgerlink.sandbox.quickbooks.errors import QBOError
from ledgerlink.sandbox.quickbooks.keys import INDEX

from .qbo import QBO, sales_line

NOW = 1_780_000_000.0  # a fixed sandbox time: the rules here do not depend on it
GROWING = ("Customer", "Vendor", "Employee", "Invoice", "Payment", "CreditMemo")


class _Unscannable(dict):
    """A store that may be read by id but never walked."""

    def _walked(self, *_: Any) -> Any:
        raise AssertionError("a rule scanned a whole store")

    values = items = keys = __iter__ = _walked


def _books(ledger: dict[str, Any]) -> Books:
    return Books(ledger, NOW, {})


def _company() -> dict[str, Any]:
    ledger = seed.new_ledger("AU", "Keys Pty Ltd", "9130000000000001", NOW)  # custom DocNumbers on
    books = _books(ledger)
    # A few of everything, so each index is built before the stores are made unscannable.
    customer = books.save("Customer", {"DisplayName": "Existing Customer"})
    invoice = _invoice(books, customer, "EX-1", "100.00")
    _pay(books, customer, invoice, "10.00")
    INDEX.with_key(ledger, "Invoice", "CustomerRef", customer["Id"])
    for store in GROWING:
        if store in ledger:
            ledger[store] = _Unscannable(ledger[store])
    return ledger


def _invoice(books: Books, customer: dict[str, Any], number: str, amount: str) -> dict[str, Any]:
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "DocNumber": number,
        "Line": [sales_line(amount, tax="4")],  # GST, not charged: the total is the line's amount
        "GlobalTaxCalculation": "NotApplicable",
    }
    return books.save("Invoice", body)


def _pay(books: Books, customer: dict[str, Any], invoice: dict[str, Any], amount: str) -> dict[str, Any]:
    line = {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    return books.save(
        "Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": amount, "Line": [line]}
    )


def _refused(code: str, write: Any, *args: Any) -> None:
    try:  # QBOError is frozen: pytest.raises cannot attach its traceback
        write(*args)
    except QBOError as refused:
        assert refused.code == code
    else:
        pytest.fail(f"not refused: expected {code}")


def test_names_are_unique_without_case_and_a_rename_frees_the_old_name() -> None:
    ledger = _company()
    books = _books(ledger)
    first = books.save("Customer", {"DisplayName": "Sunny Homes"})
    _refused("6240", books.save, "Customer", {"DisplayName": "SUNNY homes"})
    renamed = books.save(
        "Customer",
        {"Id": first["Id"], "SyncToken": first["SyncToken"], "sparse": True, "DisplayName": "Bright"},
    )
    assert renamed["DisplayName"] == "Bright"
    assert books.save("Customer", {"DisplayName": "Sunny Homes"})["Id"] != first["Id"]
    _refused("6240", books.save, "Customer", {"DisplayName": "bright"})
    # Saving a customer under its own name is no clash with itself.
    again = books.save(
        "Customer",
        {"Id": first["Id"], "SyncToken": renamed["SyncToken"], "sparse": True, "DisplayName": "BRIGHT"},
    )
    assert again["DisplayName"] == "BRIGHT"


def test_doc_numbers_are_unique_per_type_and_a_renumbered_invoice_frees_its_number() -> None:
    ledger = _company()
    books = _books(ledger)
    customer = books.save("Customer", {"DisplayName": "Numbered"})
    invoice = _invoice(books, customer, "INV-7", "50.00")
    _refused("6140", _invoice, books, customer, "INV-7", "60.00")
    books.save(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "DocNumber": "INV-8"},
    )
    assert _invoice(books, customer, "INV-7", "70.00")["DocNumber"] == "INV-7"
    _refused("6140", _invoice, books, customer, "INV-8", "80.00")


def _two_invoices(amounts: tuple[str, str]) -> tuple[dict[str, Any], Books, dict[str, Any], list[Any]]:
    """Unscannable books, a customer and two invoices of `amounts` to it."""
    ledger = _company()
    books = _books(ledger)
    customer = books.save("Customer", {"DisplayName": "Payer"})
    return ledger, books, customer, [_invoice(books, customer, f"P-{amount}", amount) for amount in amounts]


def test_payments_settle_only_what_they_apply_to_and_a_void_restores_it() -> None:
    ledger, books, customer, (first, second) = _two_invoices(("100.00", "40.00"))
    payment = _pay(books, customer, first, "30.00")
    _pay(books, customer, first, "20.00")
    assert ledger["Invoice"][first["Id"]]["Balance"] == Decimal("50.00")
    assert [link["TxnId"] for link in ledger["Invoice"][first["Id"]]["LinkedTxn"]] == [
        payment["Id"],
        str(int(payment["Id"]) + 1),
    ]
    assert ledger["Invoice"][second["Id"]]["Balance"] == Decimal("40.00")
    books.void("Payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]})
    assert ledger["Invoice"][first["Id"]]["Balance"] == Decimal("80.00")


def test_a_payment_moved_to_another_invoice_leaves_the_first() -> None:
    ledger, books, customer, (first, second) = _two_invoices(("100.00", "90.00"))
    payment = _pay(books, customer, first, "25.00")
    line = {"Amount": "25.00", "LinkedTxn": [{"TxnId": second["Id"], "TxnType": "Invoice"}]}
    books.save(
        "Payment",
        {
            "Id": payment["Id"],
            "SyncToken": payment["SyncToken"],
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": "25.00",
            "Line": [line],
        },
    )
    assert ledger["Invoice"][first["Id"]]["Balance"] == Decimal("100.00")
    assert ledger["Invoice"][first["Id"]]["LinkedTxn"] == []
    assert ledger["Invoice"][second["Id"]]["Balance"] == Decimal("65.00")


def test_indexes_are_rebuilt_for_books_made_before_them() -> None:
    ledger = seed.new_ledger("AU", "Older Pty Ltd", "9130000000000002", NOW)
    books = _books(ledger)
    customer = books.save("Customer", {"DisplayName": "From Before"})
    _invoice(books, customer, "OLD-1", "10.00")
    del ledger[INDEX.private_key]  # as in a state file written before the indexes existed
    _refused("6240", books.save, "Customer", {"DisplayName": "from before"})
    _refused("6140", _invoice, books, customer, "OLD-1", "10.00")
    assert [i["DocNumber"] for i in INDEX.with_key(ledger, "Invoice", "CustomerRef", customer["Id"])] == [
        "OLD-1"
    ]


def test_a_customer_balance_is_what_its_own_invoices_still_owe(qbo: QBO) -> None:
    owing, other = qbo.customer("Owing"), qbo.customer("Other")
    first = qbo.invoice(owing["Id"], [sales_line(100)])
    qbo.invoice(owing["Id"], [sales_line(40)])
    qbo.invoice(other["Id"], [sales_line(7)])
    line = {"Amount": 30, "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Invoice"}]}
    qbo.create("Payment", {"CustomerRef": {"value": owing["Id"]}, "TotalAmt": 30, "Line": [line]})
    read = qbo.get(f"/customer/{owing['Id']}").json()["Customer"]
    assert (read["Balance"], read["BalanceWithJobs"]) == (110.0, 110.0)
    assert qbo.get(f"/customer/{other['Id']}").json()["Customer"]["Balance"] == 7.0
