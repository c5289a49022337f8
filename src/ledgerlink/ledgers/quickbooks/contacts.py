"""Matching CashFlow customers to the company's QuickBooks customers before any is created.

Matched by email, in one query for the whole batch (`PrimaryEmailAddr.Address IN (...)`, inactive customers
included: a customer made inactive in QuickBooks is still the same person, but using it on an invoice would
fail with 610, so an inactive match is not linked and a new customer is made under a distinct name).
QuickBooks has no OR, so the names are a second query per name list. DisplayName is unique across
customers, vendors and employees, inactive ones included (6240, quickbooks.md 2.3), but a homeowner sharing a
supplier's or an employee's name is rare: the names are checked among customers alone until QuickBooks
refuses one for this company, and among all three from then on (`NAME_CLASHES`). The refused customer is
sent again at once (`errors.fault_error`) and its next match picks a name that tells it apart, so the rare
clash costs one refused batch item where checking always would cost two queries per match. A customer whose
name is taken gets `payloads.disambiguated_name`, and so does a second customer of the same batch with the
same name.

Read once per backfill: a claim of more customers than one IN list holds (a backfill's) reads every customer
(any status) and every vendor's and employee's name in one paged query each, keeps them as this process's
copy (`BOOKS`, the rules in ledgers/books.py) and answers its matches and name checks from it, as does a
backfill's tail claim of a few while the copy is held; any other claim of a few (live sync) asks QuickBooks
with the exact queries above."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ledgerlink.ledgers.books import Books, Copies, Index, Row
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
# Companies where QuickBooks refused a customer's name (6240) in this process lately: their vendors' and
# employees' names are checked too while this stands (`BOOK_FRESH_S`; a later clash teaches it again).
NAME_CLASHES: Copies[bool] = Copies()
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
    rows: list[Row] = []
    for clause in in_clauses("PrimaryEmailAddr.Address", emails):
        rows += client.query("Customer", f"{clause} AND {EVERY_STATUS}", "customer look-up")
    return _emails(rows)


def name_holders(realm_id: str) -> tuple[str, ...]:
    """The lists a new customer's name is checked against: customers', and vendors' and employees' too once
    the company refused a name (`NAME_CLASHES`)."""
    return NAME_HOLDERS if NAME_CLASHES.get(realm_id) else NAME_HOLDERS[:1]


def learn_clash(realm_id: str) -> None:
    """QuickBooks refused a customer's name: check every name list of this company from now on."""
    NAME_CLASHES.keep(realm_id, True)


def taken_names(client: QuickBooksClient, names: Iterable[str]) -> set[str]:
    """Which of these display names a customer (or, see `name_holders`, a vendor or employee) of any status
    already holds."""
    wanted = list(names)
    taken: set[str] = set()
    for entity in name_holders(client.realm_id):
        for clause in in_clauses("DisplayName", wanted):
            rows = client.query(entity, f"{clause} AND {EVERY_STATUS}", "name look-up")
            taken.update(_key(row.get("DisplayName")) for row in rows)
    return taken


def _read_book(client: QuickBooksClient) -> list[Row]:
    """Every customer as QuickBooks holds it, then (see `name_holders`) every vendor's and employee's name
    alone (no email: they only ever take a name, never match a customer)."""
    rows: list[Row] = list(client.query("Customer", EVERY_STATUS, "customer list"))
    for entity in name_holders(client.realm_id)[1:]:
        rows += [
            {"DisplayName": r.get("DisplayName")} for r in client.query(entity, EVERY_STATUS, "name list")
        ]
    return rows


def customer_row(customer: Customer, remote: RemoteRef) -> Row:
    """A customer the engine just created, as QuickBooks now holds it (for the copy)."""
    return {"Id": remote.id, "DisplayName": customer.name, "PrimaryEmailAddr": {"Address": customer.email}}


def _emails(rows: Iterable[Row]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for row in rows:
        email = (row.get("PrimaryEmailAddr") or {}).get("Address")
        if email:
            found.setdefault(_key(email), []).append(row)
    return found


class CustomerIndex(Index):
    """A company's customers by email (each kept as the id, name and status a match reads) and every name
    a customer (and, see `name_holders`, a vendor or employee) holds: the process's copy (`BOOKS`)."""

    def __init__(self) -> None:
        self.by_email: dict[str, list[Row]] = {}
        self.names: set[str] = set()

    def add(self, row: Row) -> None:
        self.names.add(_key(row.get("DisplayName")))
        email = (row.get("PrimaryEmailAddr") or {}).get("Address")
        if email:
            kept = {key: row[key] for key in ("Id", "DisplayName", "Active") if key in row}
            self.by_email.setdefault(_key(email), []).append(kept)

    def taken(self, wanted: Iterable[str]) -> set[str]:
        return {name for name in map(_key, wanted) if name in self.names}


BOOKS: Books[CustomerIndex] = Books(CustomerIndex)  # this process's copy of each company's customers


def _lookups(
    client: QuickBooksClient, items: Sequence[SyncItem], customers: Sequence[Customer]
) -> tuple[Mapping[str, list[Row]], Callable[[list[str]], set[str]]]:
    """Customers by email, and the taken-name check: from the copy for a claim of many (or a backfill's
    tail, while the copy is held), else asked exactly."""
    index = BOOKS.held_for(client.realm_id, items)
    if index is None and len(customers) <= IN_LIST:
        return by_email(client, [c.email for c in customers]), lambda names: taken_names(client, names)
    if index is None:
        index = BOOKS.read_once(client.realm_id, lambda: _read_book(client))
    return index.by_email, index.taken


def is_active(row: Mapping[str, Any]) -> bool:
    return row.get("Active", True) is not False


def resolve(client: QuickBooksClient, items: Sequence[SyncItem]) -> CustomerResolution:
    """Customers matched to existing active customers by email, and the rest to create with names no
    customer (or, see `name_holders`, vendor or employee) holds."""
    customers = [(item, item.document) for item in items if isinstance(item.document, Customer)]
    if not customers:
        return CustomerResolution(matched=(), to_create=())
    emails, taken_of = _lookups(client, items, [customer for _, customer in customers])
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
    taken = taken_of(wanted) if unmatched else set()
    to_create: list[SyncItem] = []
    for item, customer in unmatched:
        if _key(customer.name) in taken:
            customer = replace(customer, name=payloads.disambiguated_name(customer))
            item = replace(item, document=customer)
        taken.add(_key(customer.name))
        to_create.append(item)
    return CustomerResolution(matched=tuple(matched), to_create=tuple(to_create))
