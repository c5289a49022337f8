"""Pre-flight: problems that stop an item before any call, in words the user can act on. The checks are the
ledgers app's (`ledgers.validation`, against the cached chart); this module applies them to sync items. A
configuration problem never costs an API call; it waits for the mapping to change (sync/requeue.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ledgerlink.ledgers.contract import SyncItem
from ledgerlink.ledgers.validation import Labels, document_problems

if TYPE_CHECKING:
    from ledgerlink.sync.session import LedgerSession


def preflight_problems(item: SyncItem, session: LedgerSession, tax_names: Mapping[str, str]) -> list[str]:
    """Everything that would make the ledger refuse this item for a mapping reason, as sentences. Before the
    first chart load there is nothing to check against; the payload builder then refuses an unmapped item
    (MappingMissing), still without a call."""
    if session.chart is None:
        return []
    labels = Labels(ledger=session.display_name, tax_rates=tax_names)
    return [
        problem.message
        for problem in document_problems(item.document, session.mapping, session.chart, labels)
    ]
