"""Collecting the daily recap: every record waiting for the user because of a setting, turned into
`grouping.FailedItem`s, each tied to the setting that would fix it.

The engine keeps only the sentence it showed (`SyncRecord.last_error`), so the setting is found again here:
the document is checked against the cached chart and the current mapping with the same pre-flight checks
the engine used (`ledgers.validation`), which name the mapping field. A failure the ledger itself reported
(its own tax or numbering settings) has no field; it is grouped by what its sentence is about."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledgerlink.cashflow.models import Invoice, Organisation, TaxRate
from ledgerlink.cashflow.money import from_minor
from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.contract import Document, ObjectKind
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.validation import METHOD_WORDS, Labels, document_problems
from ledgerlink.notices.grouping import FailedItem, Setting
from ledgerlink.sync.documents import load_documents
from ledgerlink.sync.models import SyncRecord
from ledgerlink.sync.status import configuration_failures

_OBJECT_WORDS = {
    ObjectKind.PAYMENT: "Payment",
    ObjectKind.PAYMENT_REVERSAL: "Refund",
    ObjectKind.CANCELLATION: "Cancellation",
}
# A ledger-side refusal, by the words of its sentence: the first topic whose word appears wins.
_LEDGER_TOPICS = (
    ("numbering", ("number",), "Invoice numbering in {ledger}", "Check {ledger}'s invoice number settings."),
    ("tax", ("tax", "gst", "vat"), "Tax settings in {ledger}", "Check the tax rates set up in {ledger}."),
    ("accounts", ("account",), "Accounts in {ledger}", "Check the accounts in {ledger}'s chart."),
)


def _q(text: str) -> str:
    return f"\u201c{text}\u201d"


def mapping_setting(field: str, ledger: str, tax_names: dict[str, str]) -> Setting:
    """The setting behind a pre-flight field (ledgers.validation's vocabulary), in the user's words."""
    subject, _, part = field.partition(".")
    kind, _, key = subject.partition(":")
    if kind == "tax_rate":
        name = _q(tax_names.get(key, "a tax rate"))
        if part == "tax_code":
            return Setting(
                field, f"{ledger} tax rate for {name}", f"Choose the {ledger} tax rate for {name}."
            )
        return Setting(field, f"Revenue account for {name}", f"Choose an active revenue account for {name}.")
    if kind == "line_type":
        return Setting(
            field, f"Account for {key} lines", f"Choose an active revenue account for {key} lines."
        )
    if kind == "payment":
        what = f"{METHOD_WORDS.get(key, key)} payments"
        return Setting(field, f"Account for {what}", f"Choose the {ledger} account {what} land in.")
    return Setting(field, "Project tracking", f"Check the {ledger} tracking category used for projects.")


def ledger_setting(message: str, ledger: str) -> Setting:
    words = message.lower()
    for topic, keys, title, hint in _LEDGER_TOPICS:
        if any(key in words for key in keys):
            return Setting(f"ledger:{topic}", title.format(ledger=ledger), hint.format(ledger=ledger))
    return Setting("ledger:other", f"Settings in {ledger}", f"Check the settings in {ledger}, then retry.")


def _documents(organisation: Organisation, records: list[SyncRecord]) -> dict[tuple[str, str], Document]:
    ids: dict[str, list[str]] = defaultdict(list)
    for record in records:
        ids[record.kind].append(record.subject_id)
    found: dict[tuple[str, str], Document] = {}
    for kind, subject_ids in ids.items():
        for subject_id, document in load_documents(ObjectKind(kind), organisation.pk, subject_ids).items():
            found[(kind, subject_id)] = document
    return found


def failed_items(organisation: Organisation, connection: Connection) -> list[FailedItem]:
    """What the recap lists for this connection, one item per waiting record of an invoice's chain."""
    records = [
        r for r in configuration_failures(organisation) if r.connection_id == connection.pk and r.chain
    ]
    if not records:
        return []
    ledger = connection.get_provider_display()
    tax_names = {
        str(pk): name
        for pk, name in TaxRate.objects.filter(organisation=organisation).values_list("id", "name")
    }
    invoices = Invoice.objects.filter(organisation=organisation, id__in={r.chain for r in records})
    by_id = {str(invoice.pk): invoice for invoice in invoices.select_related("customer")}
    documents = _documents(organisation, records)
    chart = chart_for(connection)
    mapping = resolve_mapping(organisation, connection.provider)
    labels = Labels(ledger=ledger, tax_rates=tax_names)
    items = []
    for record in records:
        invoice = by_id.get(record.chain)
        if invoice is None:
            continue
        document = documents.get((record.kind, record.subject_id))
        problems = document_problems(document, mapping, chart, labels) if chart and document else []
        setting = (
            mapping_setting(problems[0].field, ledger, tax_names)
            if problems
            else ledger_setting(record.last_error, ledger)
        )
        # The pre-flight's own words for that setting (the engine's sentence may repeat one per field).
        reason = " ".join(dict.fromkeys(p.message for p in problems)) or record.last_error
        items.append(_item(invoice, record, setting, reason))
    return items


def _item(invoice: Any, record: SyncRecord, setting: Setting, reason: str) -> FailedItem:
    prefix = _OBJECT_WORDS.get(ObjectKind(record.kind))
    reason = f"{prefix}: {reason}" if prefix else reason
    return FailedItem(
        invoice_id=str(invoice.pk),
        number=invoice.number,
        customer=invoice.customer.name,
        amount=from_minor(invoice.total_minor),
        currency=invoice.currency,
        issued_on=invoice.issue_date,
        reason=reason,
        # When the engine last set it aside (a mapping change re-queues it; failing again restarts this).
        since=record.updated_at,
        setting=setting,
    )
