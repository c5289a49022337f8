"""Money against documents (xero.md §3 "Payments", "Credit notes and allocation"): payments against
AUTHORISED invoices and credit notes, their deletion, and credit-note allocations. Works on a ``Books``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..control.state import new_id
from . import messages as msg
from .ledger import CENT, DOC, Books, Outcome, Problems, canonical_keys
from .wire import parse_date


class Settlements:
    """Payments and allocations of one tenant's books. Callers hold the store lock."""

    def __init__(self, books: Books) -> None:
        self.books = books

    # -- payments ---------------------------------------------------------------------------------------
    def save_payment(self, raw: Any) -> Outcome:
        """Create one payment against an invoice or credit note (refund) (xero.md §3 "Payments")."""
        problems = Problems()
        if not isinstance(raw, dict):
            problems.add(msg.DOCUMENT_NOT_FOUND)
            return Outcome({}, problems)
        raw = canonical_keys(raw)
        payment: dict[str, Any] = {
            "Status": "AUTHORISED",
            "IsReconciled": bool(raw.get("IsReconciled", False)),
        }
        target_kind, target = self._payment_target(raw, problems)
        account_ref = raw["Account"] if isinstance(raw.get("Account"), dict) else {"Code": raw.get("Code")}
        account = self.books.account(canonical_keys(account_ref))
        if (
            account is None
            or account["Status"] != "ACTIVE"
            or not (account["Type"] == "BANK" or account.get("EnablePaymentsToAccount"))
        ):
            problems.add(msg.ACCOUNT_MUST_BE_VALID)
        else:
            payment["Account"] = {
                "AccountID": account["AccountID"],
                "Code": account.get("Code"),
                "Name": account["Name"],
            }
        try:
            payment["Date"] = parse_date(raw["Date"]) if raw.get("Date") is not None else self.books.today
        except ValueError:
            problems.add(msg.DATE_INVALID.format(field="Date"))
        else:
            self.books.check_lock_date(payment, None, problems)
        amount = self.books.number(raw, "Amount", problems, None)
        if amount is None or amount <= 0:
            problems.add(msg.PAYMENT_NOT_POSITIVE)
        elif target is not None:
            if target["Status"] != "AUTHORISED":
                problems.add(msg.PAYMENT_NOT_AUTHORISED)
            elif amount > (target["AmountDue"] if target_kind == "invoice" else target["RemainingCredit"]):
                problems.add(msg.PAYMENT_TOO_MUCH)
        if raw.get("Reference") is not None:
            payment["Reference"] = str(raw["Reference"])[:255]
        if problems:
            payment["ValidationErrors"] = [{"Message": m} for m in problems.messages]
            if amount is not None:
                payment["Amount"] = amount
            return Outcome(payment, problems)
        assert target is not None and amount is not None
        payment.update(
            PaymentID=new_id(),
            Amount=amount.quantize(CENT),
            BankAmount=amount.quantize(CENT),
            CurrencyRate=target.get("CurrencyRate", Decimal(1)),
            PaymentType=_payment_type(target["Type"]),
            HasAccount=True,
            HasValidationErrors=False,
            UpdatedDateUTC=self.books.now,
            _target=(target_kind, target[DOC[target_kind][1]]),
            _client_id=self.books.client_id,
        )
        self._attach_payment(target_kind, target, payment)
        self.books.ledger["payments"][payment["PaymentID"]] = payment
        return Outcome(self.payment_view(payment))

    def _payment_target(self, raw: dict[str, Any], problems: Problems) -> tuple[str, dict[str, Any] | None]:
        for kind, key in (("invoice", "Invoice"), ("credit_note", "CreditNote")):
            ref = raw.get(key)
            number = raw.get(DOC[kind][2])
            if isinstance(ref, dict) or number:
                ref = canonical_keys(ref) if isinstance(ref, dict) else {}
                handle = ref.get(DOC[kind][1]) or ref.get(DOC[kind][2]) or number
                found = self.books.find_document(kind, str(handle)) if handle else None
                if found is None or found["Status"] == "DELETED":
                    problems.add(msg.DOCUMENT_NOT_FOUND)
                return kind, found
        problems.add(msg.DOCUMENT_NOT_FOUND)
        return "invoice", None

    def _attach_payment(self, kind: str, target: dict[str, Any], payment: dict[str, Any]) -> None:
        target.setdefault("Payments", []).append(
            {
                "PaymentID": payment["PaymentID"],
                "Date": payment["Date"],
                "Amount": payment["Amount"],
                "Reference": payment.get("Reference"),
                "CurrencyRate": payment["CurrencyRate"],
                "HasAccount": True,
                "HasValidationErrors": False,
            }
        )
        self.books.settle(kind, target)
        target["UpdatedDateUTC"] = self.books.now

    def payment_view(self, payment: dict[str, Any]) -> dict[str, Any]:
        """A payment as Xero returns it: with a summary of the document it settles."""
        view = {k: v for k, v in payment.items() if not k.startswith("_")}
        kind, doc_id = payment["_target"]
        doc = self.books.ledger[DOC[kind][0]].get(doc_id)
        if doc is not None:
            summary_key = "Invoice" if kind == "invoice" else "CreditNote"
            view[summary_key] = {
                DOC[kind][1]: doc_id,
                DOC[kind][2]: doc.get(DOC[kind][2]),
                "Type": doc["Type"],
                "Contact": doc.get("Contact"),
                "CurrencyCode": doc.get("CurrencyCode"),
                "IsDiscounted": doc.get("IsDiscounted", False),
                "HasErrors": False,
                "LineItems": [],
                "Payments": [],
                "CreditNotes": [],
                "Prepayments": [],
                "Overpayments": [],
            }
            if kind == "credit_note":
                for key in ("Payments", "CreditNotes", "Prepayments", "Overpayments", "IsDiscounted"):
                    view[summary_key].pop(key, None)
        return view

    def delete_payment(self, payment_id: str, raw: Any) -> Outcome:
        """``POST /Payments/{id}`` with ``Status: DELETED``: the only change a payment allows."""
        problems = Problems()
        payment = self.books.ledger["payments"].get(payment_id.lower())
        if payment is None:
            problems.add(msg.DOCUMENT_NOT_FOUND)
            return Outcome({"PaymentID": payment_id}, problems)
        if not isinstance(raw, dict) or str(raw.get("Status", "")).upper() != "DELETED":
            problems.add(msg.PAYMENT_NO_EDIT)
        elif payment["IsReconciled"] and not self.books.ledger.get("settings", {}).get(
            "allow_reconciled_delete"
        ):
            problems.add(msg.PAYMENT_RECONCILED)
        if problems:
            view = self.payment_view(payment)
            view["ValidationErrors"] = [{"Message": m} for m in problems.messages]
            return Outcome(view, problems)
        if payment["Status"] != "DELETED":
            payment["Status"] = "DELETED"
            payment["UpdatedDateUTC"] = self.books.now
            kind, doc_id = payment["_target"]
            doc = self.books.ledger[DOC[kind][0]][doc_id]
            doc["Payments"] = [p for p in doc.get("Payments", []) if p["PaymentID"] != payment["PaymentID"]]
            self.books.settle(kind, doc)
            doc["UpdatedDateUTC"] = self.books.now
        return Outcome(self.payment_view(payment))

    # -- allocations ------------------------------------------------------------------------------------
    def allocate(self, credit_note_id: str, raw: Any) -> Outcome:
        """Allocate part of an AUTHORISED credit note to an AUTHORISED invoice of the same contact."""
        problems = Problems()
        note = self.books.find_document("credit_note", credit_note_id)
        if note is None:
            problems.add(msg.CREDIT_NOTE_NOT_FOUND)
            return Outcome({}, problems)
        raw = canonical_keys(raw) if isinstance(raw, dict) else {}
        ref = canonical_keys(raw.get("Invoice") or {}) if isinstance(raw.get("Invoice"), dict) else {}
        invoice = self.books.find_document(
            "invoice", str(ref.get("InvoiceID") or ref.get("InvoiceNumber") or "")
        )
        allocation: dict[str, Any] = {}
        amount = self.books.number(raw, "Amount", problems, None)
        if invoice is None:
            problems.add(msg.DOCUMENT_NOT_FOUND)
        elif amount is None or amount <= 0:
            problems.add(msg.PAYMENT_NOT_POSITIVE)
        elif note["Status"] != "AUTHORISED" or invoice["Status"] != "AUTHORISED":
            problems.add(msg.ALLOCATION_NOT_AUTHORISED)
        elif note["CurrencyCode"] != invoice["CurrencyCode"]:
            problems.add(msg.ALLOCATION_CURRENCY)
        elif note["Contact"]["ContactID"] != invoice["Contact"]["ContactID"]:
            problems.add(msg.ALLOCATION_CONTACT)
        elif amount > note["RemainingCredit"] or amount > invoice["AmountDue"]:
            problems.add(msg.ALLOCATION_TOO_MUCH)
        try:
            allocation["Date"] = parse_date(raw["Date"]) if raw.get("Date") else self.books.today
        except ValueError:
            problems.add(msg.DATE_INVALID.format(field="Date"))
        if problems:
            allocation["ValidationErrors"] = [{"Message": m} for m in problems.messages]
            if amount is not None:
                allocation["Amount"] = amount
            return Outcome(allocation, problems)
        assert invoice is not None and amount is not None
        allocation.update(AllocationID=new_id(), Amount=amount.quantize(CENT), IsDeleted=False)
        summary = {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice.get("InvoiceNumber")}
        note["Allocations"].append({**allocation, "Invoice": summary, "_invoice_id": invoice["InvoiceID"]})
        invoice["CreditNotes"].append(
            {
                "CreditNoteID": note["CreditNoteID"],
                "CreditNoteNumber": note.get("CreditNoteNumber"),
                "AppliedAmount": allocation["Amount"],
                "Date": allocation["Date"],
                "Total": note["Total"],
                "_allocation_id": allocation["AllocationID"],
            }
        )
        for kind, doc in (("credit_note", note), ("invoice", invoice)):
            self.books.settle(kind, doc)
            doc["UpdatedDateUTC"] = self.books.now
        return Outcome(self.allocation_view(note, allocation["AllocationID"]))

    def allocation_view(self, note: dict[str, Any], allocation_id: str) -> dict[str, Any]:
        allocation = next(
            a
            for a in note["Allocations"] + note.get("_deleted_allocations", [])
            if a["AllocationID"] == allocation_id
        )
        invoice = self.books.ledger["invoices"].get(allocation["_invoice_id"], {})
        view = {k: v for k, v in allocation.items() if not k.startswith("_")}
        view["Invoice"] = {
            "InvoiceID": invoice.get("InvoiceID"),
            "InvoiceNumber": invoice.get("InvoiceNumber"),
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": False,
            "LineItems": [],
        }
        view["CreditNote"] = {
            "CreditNoteID": note["CreditNoteID"],
            "CreditNoteNumber": note.get("CreditNoteNumber"),
            "LineItems": [],
            "HasErrors": False,
        }
        return view

    def delete_allocation(self, credit_note_id: str, allocation_id: str) -> dict[str, Any] | None:
        note = self.books.find_document("credit_note", credit_note_id)
        if note is None:
            return None
        allocation = next(
            (a for a in note["Allocations"] if a["AllocationID"] == allocation_id.lower()), None
        )
        if allocation is None:
            return None
        note["Allocations"].remove(allocation)
        allocation["IsDeleted"] = True
        note.setdefault("_deleted_allocations", []).append(allocation)
        invoice = self.books.ledger["invoices"][allocation["_invoice_id"]]
        invoice["CreditNotes"] = [
            c for c in invoice["CreditNotes"] if c.get("_allocation_id") != allocation_id.lower()
        ]
        for kind, doc in (("credit_note", note), ("invoice", invoice)):
            self.books.settle(kind, doc)
            doc["UpdatedDateUTC"] = self.books.now
        return self.allocation_view(note, allocation["AllocationID"])


def _payment_type(doc_type: str) -> str:
    return {
        "ACCREC": "ACCRECPAYMENT",
        "ACCPAY": "ACCPAYPAYMENT",
        "ACCRECCREDIT": "ARCREDITPAYMENT",
        "ACCPAYCREDIT": "APCREDITPAYMENT",
    }[doc_type]
