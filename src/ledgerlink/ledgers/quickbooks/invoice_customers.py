"""The customer of each invoice this process created, by company.

A QuickBooks payment must name its invoice's customer (CustomerRef); CashFlow's payment names only its
invoice. An invoice the engine created carries the customer the engine put on it, so a backfill's payments,
which follow their invoices within minutes, need no look-up of the invoice. An invoice linked rather than
created (its number was already in QuickBooks, perhaps under a customer the bookkeeper made by hand) is never
remembered here, so its payments still read the invoice and name the customer QuickBooks holds: naming ours
would be refused (the payment could not be linked to the invoice). Bounded per company and in companies, so
a long-lived consumer does not grow without end; what is forgotten is looked up."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from ledgerlink.ledgers.contract import ItemOutcome, SyncItem

PER_COMPANY = 20_000
COMPANIES = 200


class InvoiceCustomers:
    """Invoice id to customer id, for the invoices this process created, by company (realm id)."""

    def __init__(self, per_company: int = PER_COMPANY, companies: int = COMPANIES) -> None:
        self._known: OrderedDict[str, OrderedDict[str, str]] = OrderedDict()
        self._per_company, self._companies = per_company, companies
        self._lock = threading.Lock()

    def created(self, realm_id: str, items: Sequence[SyncItem], outcomes: Sequence[ItemOutcome]) -> None:
        """After an invoice create: each invoice made (or replayed by its requestid) and its customer."""
        customers = {item.record_id: item.remote_ids.get("contact", "") for item in items}
        made = [
            (outcome.remote.id, customers[outcome.record_id])
            for outcome in outcomes
            if outcome.error is None and outcome.remote is not None and customers.get(outcome.record_id)
        ]
        if not made:
            return
        with self._lock:
            company = self._known.setdefault(realm_id, OrderedDict())
            self._known.move_to_end(realm_id)
            company.update(made)
            while len(company) > self._per_company:
                company.popitem(last=False)
            while len(self._known) > self._companies:
                self._known.popitem(last=False)

    def of(self, realm_id: str, invoice_ids: Iterable[str]) -> dict[str, str]:
        """The customers known of these invoices (the rest must be looked up)."""
        with self._lock:
            company = self._known.get(realm_id)
            return {i: company[i] for i in invoice_ids if company is not None and i in company}

    def forget(self, realm_id: str) -> None:
        with self._lock:
            self._known.pop(realm_id, None)


MEMORY = InvoiceCustomers()
