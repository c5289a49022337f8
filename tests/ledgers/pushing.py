"""What the engine does with a ledger, one round by hand: for contract tests that drive a ledger directly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from ledgerlink.ledgers.contract import ItemOutcome, Ledger, ObjectKind, ResolvedMapping, SyncItem

from . import documents as d


class Books:
    """A connected ledger, the mapping for its sandbox's chart, and a customer already in it."""

    def __init__(self, ledger: Any, mapping: ResolvedMapping, tenant: str, contact_id: str) -> None:
        self.ledger, self.mapping, self.tenant, self.contact_id = ledger, mapping, tenant, contact_id

    def invoice_item(self, number: str, **kwargs: Any) -> SyncItem:
        return SyncItem(
            f"rec-{number}", ObjectKind.INVOICE, d.invoice(number, **kwargs), {"contact": self.contact_id}
        )


def push(
    ledger: Ledger, items: Sequence[SyncItem], mapping: ResolvedMapping, key: str | None = None
) -> list[ItemOutcome]:
    """Build, send each request with a key (a fresh one unless given), read the outcomes."""
    outcomes = []
    for request in ledger.build(items, mapping):
        request_key = key or f"{uuid.uuid4().hex}-{request.step}"
        outcomes += ledger.read(ledger.send(request, request_key), request)
    return outcomes
