"""Matching CashFlow customers to the company's QuickBooks customers before any is created.

Matched by email, in one query for the whole batch (`PrimaryEmailAddr.Address IN (...)`, inactive customers
included: a customer made inactive in QuickBooks is still the same person, but using it on an invoice would
fail with 610, so an inactive match is not linked and a new customer is made under a distinct name).
QuickBooks has no OR, so the names are a second query per name list: Customer, Vendor and Employee, since
DisplayName is unique across all three, inactive ones included (6240, quickbooks.md 2.3). A customer whose
name is taken gets `payloads.disambiguated_name`, and so does a second customer of the same batch with the
same name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ledgerlink.ledgers.building import chunks
from ledgerlink.ledgers.contract import (
    Customer,
    CustomerResolution,
    ItemOutcome,
    ObjectKind,
    RemoteRef,
    SyncItem,
)
from ledgerlink.ledgers.quickbooks import payloads
from ledgerlink.ledgers.quickbooks.client import QuickBooksClient, quoted

NAME_HOLDERS = ("Customer", "Vendor", "Employee")
EVERY_STATUS = "Active IN (true, false)"
# Values per IN (...): keeps a query's URL well inside common 8 KB limits.
IN_LIST = 50


def _key(text: Any) -> str:
    # QuickBooks compares names and emails case-insensitively.
    return str(text or "").strip().casefold()


def in_clauses(field: str, values: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(v for v in values if v))
    return [f"{field} IN ({', '.join(quoted(v) for v in group)})" for group in chunks(unique, IN_LIST)]


def by_email(client: QuickBooksClient, emails: Iterable[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Customers of any status by email (lower-cased), in QuickBooks' order."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for clause in in_clauses("PrimaryEmailAddr.Address", emails):
        for row in client.query("Customer", f"{clause} AND {EVERY_STATUS}", "customer look-up"):
            email = (row.get("PrimaryEmailAddr") or {}).get("Address")
            found.setdefault(_key(email), []).append(row)
    return found


def taken_names(client: QuickBooksClient, names: Iterable[str]) -> set[str]:
    """Which of these display names a customer, vendor or employee of any status already holds."""
    wanted = list(names)
    taken: set[str] = set()
    for entity in NAME_HOLDERS:
        for clause in in_clauses("DisplayName", wanted):
            rows = client.query(entity, f"{clause} AND {EVERY_STATUS}", "name look-up")
            taken.update(_key(row.get("DisplayName")) for row in rows)
    return taken


def is_active(row: Mapping[str, Any]) -> bool:
    return row.get("Active", True) is not False


def resolve(client: QuickBooksClient, items: Sequence[SyncItem]) -> CustomerResolution:
    """Customers matched to existing active customers by email, and the rest to create with names no
    customer, vendor or employee holds."""
    customers = [(item, item.document) for item in items if isinstance(item.document, Customer)]
    if not customers:
        return CustomerResolution(matched=(), to_create=())
    emails = by_email(client, [c.email for _, c in customers])
    matched: list[ItemOutcome] = []
    unmatched: list[tuple[SyncItem, Customer]] = []
    for item, customer in customers:
        active = (
            [row for row in emails.get(_key(customer.email), []) if is_active(row)] if customer.email else []
        )
        if active:
            ref = RemoteRef(ObjectKind.CUSTOMER, str(active[0]["Id"]), str(active[0].get("DisplayName", "")))
            matched.append(ItemOutcome(record_id=item.record_id, remote=ref))
        else:
            unmatched.append((item, customer))
    wanted = [c.name for _, c in unmatched] + [payloads.disambiguated_name(c) for _, c in unmatched]
    taken = taken_names(client, wanted) if unmatched else set()
    to_create: list[SyncItem] = []
    for item, customer in unmatched:
        if _key(customer.name) in taken:
            customer = replace(customer, name=payloads.disambiguated_name(customer))
            item = replace(item, document=customer)
        taken.add(_key(customer.name))
        to_create.append(item)
    return CustomerResolution(matched=tuple(matched), to_create=tuple(to_create))
