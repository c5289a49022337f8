"""The independent checker: reads each organisation's books through its sandbox's control API (never
LedgerLink's sync tables) and compares them with CashFlow's own records. Every invoice, payment, reversal
and credit note must be in the ledger exactly once, to the cent; nothing missing, nothing extra; one contact
per customer invoiced.

A ledger's books are first read into the same plain shape (`Found`), each ledger by its own reader, so the
comparison itself names no ledger."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgerlink.cashflow.models import CreditNote, Customer, Invoice, InvoiceStatus, Payment, PaymentReversal

from .world import Org, World

PAYMENT_ID = re.compile(r"\[([0-9a-fA-F-]{32,36})\]")


@dataclass(frozen=True)
class InvoiceFacts:
    total: Decimal
    paid: Decimal
    due: Decimal
    voided: bool


@dataclass
class Found:
    """One organisation's books in the ledger: each key maps to every copy found (a duplicate is two)."""

    invoices: dict[str, list[InvoiceFacts]] = field(default_factory=lambda: defaultdict(list))
    payments: dict[str, list[tuple[Decimal, str]]] = field(default_factory=lambda: defaultdict(list))
    credit_notes: dict[str, list[tuple[Decimal, Decimal]]] = field(default_factory=lambda: defaultdict(list))
    contacts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def read_xero(books: dict[str, Any]) -> Found:
    found = Found()
    for invoice in books["Invoices"]:
        if invoice.get("Type") != "ACCREC" or invoice.get("Status") == "DELETED":
            continue
        found.invoices[invoice["InvoiceNumber"]].append(
            InvoiceFacts(
                _money(invoice["Total"]),
                _money(invoice.get("AmountPaid")),
                _money(invoice.get("AmountDue")),
                invoice["Status"] == "VOIDED",
            )
        )
    for payment in books["Payments"]:
        match = PAYMENT_ID.search(str(payment.get("Reference", "")))
        if payment.get("Status") == "DELETED" or match is None:
            continue
        number = str((payment.get("Invoice") or {}).get("InvoiceNumber", ""))
        found.payments[match.group(1)].append((_money(payment["Amount"]), number))
    for note in books["CreditNotes"]:
        if note.get("Status") in ("DELETED", "VOIDED"):
            continue
        found.credit_notes[note["CreditNoteNumber"]].append(
            (_money(note["Total"]), _money(note.get("RemainingCredit")))
        )
    for contact in books["Contacts"]:
        if contact.get("ContactStatus", "ACTIVE") == "ACTIVE":
            found.contacts[str(contact.get("EmailAddress", "")).casefold() or contact["Name"]] += 1
    return found


def read_quickbooks(books: dict[str, Any]) -> Found:
    found = Found()
    numbers = {}
    payments_on: dict[str, Decimal] = defaultdict(Decimal)
    for payment in books["Payment"]:
        match = PAYMENT_ID.search(str(payment.get("PrivateNote", "")))
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and match is not None:
                    payments_on[str(link["TxnId"])] += _money(line.get("Amount"))
    for invoice in books["Invoice"]:
        numbers[str(invoice["Id"])] = str(invoice.get("DocNumber", ""))
        voided = str(invoice.get("PrivateNote", "")).startswith("Voided") and _money(invoice["TotalAmt"]) == 0
        found.invoices[str(invoice.get("DocNumber", ""))].append(
            InvoiceFacts(
                _money(invoice["TotalAmt"]),
                payments_on[str(invoice["Id"])],
                _money(invoice["Balance"]),
                voided,
            )
        )
    for payment in books["Payment"]:
        match = PAYMENT_ID.search(str(payment.get("PrivateNote", "")))
        if match is None:
            continue  # a zero payment applying a credit memo: checked through the invoice's balance
        links = [link for line in payment.get("Line") or [] for link in line.get("LinkedTxn") or []]
        number = numbers.get(str(links[0]["TxnId"]), "?") if links else ""
        found.payments[match.group(1)].append((_money(payment["TotalAmt"]), number))
    for memo in books["CreditMemo"]:
        found.credit_notes[str(memo.get("DocNumber", ""))].append(
            (_money(memo["TotalAmt"]), _money(memo.get("RemainingCredit")))
        )
    for customer in books["Customer"]:
        if customer.get("Active", True):
            email = str((customer.get("PrimaryEmailAddr") or {}).get("Address", "")).casefold()
            found.contacts[email or customer["DisplayName"]] += 1
    return found


READERS: dict[str, Callable[[dict[str, Any]], Found]] = {"xero": read_xero, "quickbooks": read_quickbooks}


@dataclass
class Verdict:
    objects: int = 0
    contacts: int = 0
    duplicates: int = 0
    missing: int = 0
    extra: int = 0
    mismatches: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.missing or self.extra or self.mismatches)

    def problem(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 30:
            self.examples.append(f"{kind}: {text}")

    def add(self, other: Verdict) -> None:
        for name in ("objects", "contacts", "duplicates", "missing", "extra", "mismatches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.examples.extend(other.examples[: max(0, 30 - len(self.examples))])


def _once(verdict: Verdict, what: str, copies: list[Any]) -> Any | None:
    """The one copy, or None after counting it missing or duplicated."""
    if not copies:
        verdict.problem("missing", what)
        return None
    if len(copies) > 1:
        verdict.problem("duplicates", f"{what} x{len(copies)}")
    return copies[0]


def expected_invoice(invoice: Invoice, voided: bool) -> InvoiceFacts:
    """What CashFlow says the ledger's invoice must show: voided when cancelled with nothing paid, else its
    total, what was paid (net of reversals) and what is left after payments and credit notes."""
    due = invoice.total - invoice.amount_paid - invoice.amount_credited
    return InvoiceFacts(invoice.total, invoice.amount_paid, Decimal(0) if voided else due, voided)


def check_org(org: Org, books: dict[str, Any]) -> Verdict:
    found = READERS[org.provider](books)
    verdict = Verdict()
    where = org.organisation.name
    invoices = list(Invoice.objects.filter(organisation=org.organisation).exclude(status=InvoiceStatus.DRAFT))
    expected_notes = {}
    for invoice in invoices:
        verdict.objects += 1
        voided = invoice.status == InvoiceStatus.CANCELLED and invoice.amount_paid == 0
        facts = _once(verdict, f"{where} invoice {invoice.number}", found.invoices.pop(invoice.number, []))
        if facts is not None:
            want = expected_invoice(invoice, voided)
            if voided and facts.voided:
                # A void is the whole story: what a ledger leaves in a void's total and balance is its own
                # (Xero keeps both, QuickBooks zeroes them); a void with money on it would have been refused.
                facts = want
            if facts != want:
                verdict.problem(
                    "mismatches", f"{where} invoice {invoice.number}: ledger {facts}, CashFlow {want}"
                )
        if invoice.status == InvoiceStatus.CANCELLED and not voided:
            for note in CreditNote.objects.filter(invoice=invoice):
                expected_notes[note.number] = note
    for number in found.invoices:
        verdict.problem("extra", f"{where} invoice {number} is not CashFlow's")
    _check_payments(org, found, verdict)
    for number, note in expected_notes.items():
        verdict.objects += 1
        copy = _once(verdict, f"{where} credit note {number}", found.credit_notes.pop(number, []))
        if copy is not None and copy != (note.amount, Decimal(0)):
            verdict.problem(
                "mismatches",
                f"{where} credit note {number}: ledger (total, left) {copy}, CashFlow {note.amount} applied",
            )
    for number in found.credit_notes:
        verdict.problem("extra", f"{where} credit note {number} has no cancellation with money received")
    _check_contacts(org, found, verdict, {invoice.customer_id for invoice in invoices})
    return verdict


def _check_payments(org: Org, found: Found, verdict: Verdict) -> None:
    """A payment is in the ledger once with what is left of it after its reversals, on its invoice; a
    payment reversed in full is not there at all (each reversal counts as an object checked)."""
    where = org.organisation.name
    payments = Payment.objects.filter(organisation=org.organisation).select_related("invoice")
    verdict.objects += PaymentReversal.objects.filter(organisation=org.organisation).count()
    for payment in payments:
        verdict.objects += 1
        copies = found.payments.pop(str(payment.id), [])
        if payment.remaining == 0:
            if copies:
                verdict.problem(
                    "extra", f"{where} payment {payment.id} was reversed in full but is in the ledger"
                )
            continue
        copy = _once(verdict, f"{where} payment {payment.id} on {payment.invoice.number}", copies)
        if copy is not None and copy != (payment.remaining, payment.invoice.number):
            verdict.problem(
                "mismatches",
                f"{where} payment {payment.id}: ledger {copy}, "
                f"CashFlow {(payment.remaining, payment.invoice.number)}",
            )
    for payment_id in found.payments:
        verdict.problem("extra", f"{where} payment [{payment_id}] is not CashFlow's")


def _check_contacts(org: Org, found: Found, verdict: Verdict, invoiced: set[Any]) -> None:
    where = org.organisation.name
    for customer in Customer.objects.filter(pk__in=invoiced):
        verdict.contacts += 1
        copies = found.contacts.pop(customer.email.casefold(), 0)
        _once(verdict, f"{where} contact {customer.email}", [customer] * copies)
    for key in found.contacts:
        verdict.problem("extra", f"{where} contact {key} is no customer invoiced")


def check(world: World) -> dict[str, Verdict]:
    """Every organisation, by provider."""
    verdicts = {provider: Verdict() for provider in world.sandboxes}
    for org in world.orgs:
        books = world.sandboxes[org.provider].control.ledger(org.tenant_id)
        verdicts[org.provider].add(check_org(org, books))
    return verdicts
