"""What the engine does with a ledger, one round by hand: for contract tests that drive a ledger directly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from ledgerlink.ledgers.contract import ItemOutcome, Ledger, ObjectKind, ResolvedMapping, SyncItem
from ledgerlink.ledgers.errors import LedgerError

from . import documents as d


class Books:
    """A connected ledger, the mapping for its sandbox's chart, and a customer already in it."""

    def __init__(
        self, connection: Any, ledger: Any, mapping: ResolvedMapping, tenant: str, contact_id: str
    ) -> None:
        self.connection, self.ledger, self.mapping = connection, ledger, mapping
        self.tenant, self.contact_id = tenant, contact_id

    def invoice_item(self, number: str, **kwargs: Any) -> SyncItem:
        return SyncItem(
            f"rec-{number}", ObjectKind.INVOICE, d.invoice(number, **kwargs), {"contact": self.contact_id}
        )


def push(
    ledger: Ledger, items: Sequence[SyncItem], mapping: ResolvedMapping, key: str | None = None
) -> list[ItemOutcome]:
    """Build, send each request with a key (a fresh one unless given), read the outcomes. As the engine
    does, items that cannot be built are answered with their error and the rest still share a batch."""
    outcomes, buildable = [], list(items)
    try:
        requests = ledger.build(buildable, mapping)
    except (LedgerError, ValueError):
        for item in items:
            try:
                ledger.build([item], mapping)
            except LedgerError as error:
                outcomes.append(ItemOutcome(item.record_id, error=error))
                buildable.remove(item)
        requests = ledger.build(buildable, mapping) if buildable else []
    for request in requests:
        request_key = key or f"{uuid.uuid4().hex}-{request.step}"
        outcomes += ledger.read(ledger.send(request, request_key), request)
    order = {item.record_id: n for n, item in enumerate(items)}
    return sorted(outcomes, key=lambda outcome: order.get(outcome.record_id, len(order)))
