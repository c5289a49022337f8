"""Pre-flight: mappings checked against the cached chart, so a configuration error costs no API call.

Every problem names the mapping field it concerns (`Problem.field`), in one vocabulary shared with the
mapping screens:

    tax_rate:<cashflow tax rate id>.tax_code     the ledger tax code of a CashFlow tax rate
    tax_rate:<cashflow tax rate id>.account      the revenue account of a CashFlow tax rate
    line_type:<type>.account                     a line type's own revenue account
    payment:<method>.account                     the account a payment method lands in (or the default)
    tracking.category / tracking.option:<project id>

`needed_fields(document, mapping)` says which of those one document uses; `document_problems` checks just
those; `mapping_problems` checks everything mapped (for the mapping screen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledgerlink.ledgers.contract import (
    AccountRef,
    Cancellation,
    Chart,
    Document,
    Invoice,
    LedgerAccount,
    Payment,
    PaymentReversal,
    ResolvedMapping,
)

METHOD_WORDS = {"bank_transfer": "bank transfer", "card": "card", "cash": "cash", "cheque": "cheque"}


def _q(text: str) -> str:
    return f"\u201c{text}\u201d"


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class Labels:
    """Names for messages: the ledger's, and CashFlow's tax rates by id."""

    ledger: str = "the ledger"
    tax_rates: Mapping[str, str] | None = None

    def tax_rate(self, tax_rate_id: str) -> str:
        return (self.tax_rates or {}).get(tax_rate_id, "a tax rate")


def _invoice_fields(invoice: Invoice, mapping: ResolvedMapping) -> list[str]:
    fields: list[str] = []
    for line in invoice.lines:
        fields.append(f"tax_rate:{line.tax_rate_id}.tax_code")
        if line.line_type in mapping.line_accounts:
            fields.append(f"line_type:{line.line_type}.account")
        else:
            fields.append(f"tax_rate:{line.tax_rate_id}.account")
    if mapping.tracking_category_id and invoice.project_id in mapping.tracking_options:
        fields.append(f"tracking.option:{invoice.project_id}")
    return list(dict.fromkeys(fields))


def needed_fields(document: Document, mapping: ResolvedMapping) -> list[str]:
    """The mapping fields a document will use when sent, so the engine can hold it back before any call."""
    if isinstance(document, Invoice):
        return _invoice_fields(document, mapping)
    if isinstance(document, Cancellation):
        return _invoice_fields(document.invoice, mapping) if document.amount_paid else []
    if isinstance(document, Payment):
        return [f"payment:{document.method}.account"]
    if isinstance(document, PaymentReversal) and document.remaining > 0:
        return [f"payment:{document.payment.method}.account"]  # the remainder is posted again
    return []


def document_problems(
    document: Document, mapping: ResolvedMapping, chart: Chart, labels: Labels = Labels()
) -> list[Problem]:
    """What would make the ledger refuse this document for a mapping or settings reason."""
    problems = check_fields(needed_fields(document, mapping), mapping, chart, labels)
    currency = _currency(document)
    if currency and chart.currencies and currency.upper() not in chart.currencies:
        taken = ", ".join(chart.currencies)
        problems.append(
            Problem(
                "currency",
                f"{labels.ledger} takes documents in {taken} only, and this one is in {currency}. Add "
                f"{currency} to {labels.ledger}'s currencies, then reload its chart here and retry.",
            )
        )
    return problems


def _currency(document: Document) -> str:
    if isinstance(document, Invoice | Payment):
        return document.currency
    if isinstance(document, Cancellation):
        return document.invoice.currency
    return ""


def mapping_problems(
    mapping: ResolvedMapping, chart: Chart, labels: Labels = Labels(), methods: Iterable[str] = ()
) -> list[Problem]:
    """Every mapped entry checked, plus the payment methods in `methods` (mapped or not)."""
    fields = [f"tax_rate:{i}.{part}" for i in mapping.tax_rates for part in ("tax_code", "account")]
    fields += [f"line_type:{t}.account" for t in mapping.line_accounts]
    fields += [f"payment:{m}.account" for m in (*mapping.payment_accounts, *methods)]
    fields += [f"tracking.option:{p}" for p in mapping.tracking_options]
    return check_fields(list(dict.fromkeys(fields)), mapping, chart, labels)


def check_fields(
    fields: Iterable[str], mapping: ResolvedMapping, chart: Chart, labels: Labels
) -> list[Problem]:
    problems: list[Problem] = []
    for field in fields:
        message = _check(field, mapping, chart, labels)
        if message:
            problems.append(Problem(field, message))
    return problems


def _check(field: str, mapping: ResolvedMapping, chart: Chart, labels: Labels) -> str:
    subject, _, part = field.partition(".")
    kind, _, key = subject.partition(":")
    if kind == "tax_rate":
        return _tax_rate_problem(key, part, mapping, chart, labels)
    if kind == "line_type":
        account = mapping.line_accounts.get(key)
        return _account_problem(account, f"{key} lines", chart, labels, revenue=True)
    if kind == "payment":
        account = mapping.payment_account_for(key)
        what = f"{METHOD_WORDS.get(key, key)} payments"
        if account is None:
            return (
                f"No {labels.ledger} account is mapped for {what}, and there is no default payment account."
            )
        return _account_problem(account, what, chart, labels, revenue=False)
    if kind == "tracking":
        return _tracking_problem(part.partition(":")[2], mapping, chart, labels)
    raise ValueError(f"Unknown mapping field {field!r}")


def _tax_rate_problem(
    tax_rate_id: str, part: str, mapping: ResolvedMapping, chart: Chart, labels: Labels
) -> str:
    name = labels.tax_rate(tax_rate_id)
    mapped = mapping.tax_rates.get(tax_rate_id)
    if mapped is None:
        return f"CashFlow's tax rate {_q(name)} is not mapped to a {labels.ledger} account and tax rate."
    if part == "account":
        return _account_problem(mapped.revenue_account, f"{_q(name)}", chart, labels, revenue=True)
    code = mapped.ledger_tax_code
    tax = next((t for t in chart.tax_rates if t.code == code), None)
    if tax is None:
        return f"The {labels.ledger} tax rate {code} mapped for {_q(name)} does not exist in {labels.ledger}."
    if tax.status != "ACTIVE":
        return f"The {labels.ledger} tax rate {_q(tax.name)} mapped for {_q(name)} is archived."
    if not tax.applies_to_revenue:
        return f"The {labels.ledger} tax rate {_q(tax.name)} mapped for {_q(name)} cannot be used on sales."
    return ""


def find_account(chart: Chart, ref: AccountRef) -> LedgerAccount | None:
    """An account by id, else by code (codes are what users see, ids what survives a code change)."""
    by_id = next((a for a in chart.accounts if ref.id and a.id == ref.id), None)
    return by_id or next((a for a in chart.accounts if ref.code and a.code == ref.code), None)


def _account_problem(
    account: AccountRef | None, what: str, chart: Chart, labels: Labels, *, revenue: bool
) -> str:
    if account is None:
        return f"No {labels.ledger} account is mapped for {what}."
    found = find_account(chart, account)
    label = account.code or account.name or account.id
    if found is None:
        return f"The {labels.ledger} account {label} mapped for {what} does not exist in {labels.ledger}."
    label = f"{found.code} {found.name}".strip()
    if found.status != "ACTIVE":
        return f"The {labels.ledger} account {label} mapped for {what} is archived."
    if revenue and not found.is_revenue:
        return f"The {labels.ledger} account {label} mapped for {what} is not a revenue account."
    if not revenue and not found.accepts_payments:
        return (
            f"The {labels.ledger} account {label} mapped for {what} cannot take payments "
            "(it is not a bank account and payments to it are not enabled)."
        )
    return ""


def _tracking_problem(project_id: str, mapping: ResolvedMapping, chart: Chart, labels: Labels) -> str:
    category = next((c for c in chart.tracking if c.id == mapping.tracking_category_id), None)
    if category is None:
        return f"The tracking category {_q(mapping.tracking_category_name)} is not active in {labels.ledger}."
    option = mapping.tracking_options.get(project_id, "")
    if project_id and option not in category.options:
        return f"The tracking option {_q(option)} is not active in {_q(category.name)}."
    return ""
