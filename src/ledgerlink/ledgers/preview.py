"""Preview: the exact body the ledger would receive for an invoice, built by the same code that sends it,
with the pre-flight problems beside it."""

from __future__ import annotations

import dataclasses
from typing import Any

from ledgerlink.ledgers.charts import chart_for
from ledgerlink.ledgers.connections import live_connection
from ledgerlink.ledgers.contract import Invoice, ObjectKind, SyncItem
from ledgerlink.ledgers.mappings import resolve_mapping
from ledgerlink.ledgers.providers import provider_name
from ledgerlink.ledgers.registry import LEDGERS
from ledgerlink.ledgers.validation import Labels, Problem, document_problems

CONTACT_PLACEHOLDER = "(the contact's id, once the customer is in the ledger)"


def preview_invoice(
    invoice: Invoice, organisation: Any, provider: str, contact_id: str = ""
) -> dict[str, Any]:
    """{"provider", "method", "path", "params", "body", "problems"}: `body` holds Decimals, as the wire
    writer (`ledgers.http.json_bytes`) will write them. `body` is None when a mapping is missing."""
    connection = live_connection(organisation)
    mapping = resolve_mapping(organisation, provider)
    chart = chart_for(connection) if connection and connection.provider == provider else None
    if chart is None:
        problems = [Problem("chart", "Connect the ledger (and load its chart) to check this invoice.")]
    else:
        labels = Labels(ledger=provider_name(provider))
        problems = document_problems(invoice, mapping, chart, labels)
    item = SyncItem("preview", ObjectKind.INVOICE, invoice, {"contact": contact_id or CONTACT_PLACEHOLDER})
    try:
        request = LEDGERS[provider].create_request((item,), mapping)
    except ValueError:  # payloads.MappingMissing: pre-flight already says which mapping
        request = None
    return {
        "provider": provider,
        "method": request.method if request else "PUT",
        "path": request.path if request else "",
        "params": dict(request.params) if request else {},
        "body": request.body if request else None,
        "problems": [dataclasses.asdict(p) for p in problems],
    }
