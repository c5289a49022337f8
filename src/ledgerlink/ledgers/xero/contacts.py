"""Matching CashFlow customers to the tenant's Xero contacts before any is created, in the fewest GETs.

What is read: every contact a customer could meet, archived ones included (`includeArchived=true`), because
Xero keeps Name unique among ACTIVE contacts but ContactNumber unique among ALL (xero.md 3, Contacts): a
customer whose id sits on an archived contact must be matched to it, never created again (the create would be
refused, and a duplicate is the worst outcome there is). `summaryOnly` is not used: the spec promises only
"lightweight fields" and a page without EmailAddress would silently turn every match into a duplicate.

How it is read, whichever costs fewer calls:
- filtered: `where=` ORs an EmailAddress, a Name and a ContactNumber clause per customer, cut into filters
  of at most WHERE_BUDGET characters: one call per filter (plus paging, were one filter to match >1,000);
- paged: `GET /Contacts?page=N&pageSize=1000`: one call per 1,000 contacts of the tenant, whatever the number
  of customers.
One filter is never beaten, so it is sent at once. Otherwise page 1 is read first: its `pagination.pageCount`
prices the paged read, and the rest is read the cheaper way. Paging never stops early, even once every
customer has a match: a name an unmatched customer would take, a later contact with the same email that
carries our ContactNumber, or our ContactNumber on an archived contact may sit on any page.

How it matches (the same answers from either read, since a filter returns every contact a customer's email,
name or number could meet): by email among active contacts (case-insensitive; of several, the one carrying
the customer's ContactNumber, else Xero's first), then by ContactNumber among all contacts (CashFlow's
customer id, which we set); the rest are created, a name an active contact or an earlier customer of the same
batch holds getting `payloads.disambiguated_name`.

Read once per backfill: a read of every page is this process's copy of the tenant's contacts (`BOOKS`, the
rules in ledgers/books.py). Only a claim needing more than one filter (a backfill's) makes it; it answers such
claims and a backfill's tail claims of a few while it is held; any other claim of a few (live sync) asks Xero
with one exact filter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ledgerlink.ledgers.books import Books, Index
from ledgerlink.ledgers.contract import (
    Customer,
    CustomerResolution,
    ItemOutcome,
    ObjectKind,
    RemoteRef,
    SyncItem,
)
from ledgerlink.ledgers.xero import payloads
from ledgerlink.ledgers.xero.client import PAGE_SIZE, XeroClient

# Characters of one where= filter: percent-encoded it stays well inside the 8 KB URL limit of common servers.
WHERE_BUDGET = 2000
EVERY_STATUS = {"includeArchived": "true"}

Contact = Mapping[str, Any]


def contact_row(customer: Customer, remote: RemoteRef) -> Contact:
    """A contact the engine just created, as Xero now holds it (for the copy)."""
    return {
        "ContactID": remote.id,
        "Name": customer.name,
        "EmailAddress": customer.email,
        "ContactNumber": payloads.contact_number(customer),
        "ContactStatus": "ACTIVE",
    }


def quoted(value: str) -> str:
    """A C#-like string literal for Xero's where=: escape the two characters that would end it."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def packed(clauses: list[str], budget: int) -> Iterable[list[str]]:
    """Clauses grouped so each group's joined text stays within `budget` characters."""
    group: list[str] = []
    for clause in clauses:
        if group and len(" OR ".join([*group, clause])) > budget:
            yield group
            group = []
        group.append(clause)
    if group:
        yield group


def _key(text: Any) -> str:
    # Xero compares names, emails and numbers case-insensitively (the sandbox also trims names).
    return str(text or "").strip().lower()


def _active(contact: Contact) -> bool:
    return str(contact.get("ContactStatus") or "ACTIVE") == "ACTIVE"


def _filters(customers: Sequence[Customer]) -> list[str]:
    clauses: list[str] = []
    for customer in customers:
        if customer.email:
            clauses.append(f"EmailAddress=={quoted(customer.email)}")
        clauses.append(f"Name=={quoted(customer.name)}")
        clauses.append(f"ContactNumber=={quoted(payloads.contact_number(customer))}")
    return [" OR ".join(group) for group in packed(list(dict.fromkeys(clauses)), WHERE_BUDGET)]


def _page(client: XeroClient, number: int) -> tuple[list[Contact], int | None]:
    """One page of every contact, and the page count Xero reports (None when it reports none)."""
    params = {**EVERY_STATUS, "page": str(number), "pageSize": str(PAGE_SIZE)}
    body = client.get("/Contacts", params, noun="contact list") or {}
    count = (body.get("pagination") or {}).get("pageCount")
    return list(body.get("Contacts") or []), (int(count) if count is not None else None)


def contact_index(
    client: XeroClient, customers: Sequence[Customer], items: Sequence[SyncItem] = ()
) -> ContactIndex:
    """Every contact (any status) the customers could meet, read the cheaper way (see the module doc) and
    indexed; a paged read is kept as the tenant's copy, and a backfill's tail (`items` all from a historical
    push) is answered from the copy while one is held."""
    held = BOOKS.held_for(client.tenant_id, items)
    if held is not None:
        return held
    filters = _filters(customers)
    if len(filters) > 1:
        kept = BOOKS.get(client.tenant_id)
        if kept is not None:
            return kept
        contacts, page_count = _page(client, 1)
        if not contacts:
            return BOOKS.keep(client.tenant_id, [])  # an empty first page: the tenant has no contacts at all
        if page_count is not None and page_count - 1 <= len(filters):
            for number in range(2, page_count + 1):
                contacts += _page(client, number)[0]
            return BOOKS.keep(client.tenant_id, contacts)
    found: list[Contact] = []
    for where in filters:
        found += client.get_all("/Contacts", "Contacts", {**EVERY_STATUS, "where": where})
    return ContactIndex.of(found)


class ContactIndex(Index):
    """The contacts read, keyed the ways a customer is matched, each kept as the id and number a match
    reports (a whole contact also carries addresses and phones, which no match reads)."""

    def __init__(self) -> None:
        self.by_email: dict[str, list[Contact]] = {}  # active contacts only, in Xero's order
        self.by_number: dict[str, Contact] = {}  # every status
        self.active_names: set[str] = set()

    def add(self, contact: Contact) -> None:
        kept = {"ContactID": contact.get("ContactID"), "ContactNumber": contact.get("ContactNumber")}
        if contact.get("ContactNumber"):
            self.by_number.setdefault(_key(contact["ContactNumber"]), kept)
        if _active(contact):
            self.active_names.add(_key(contact.get("Name")))
            if contact.get("EmailAddress"):
                self.by_email.setdefault(_key(contact["EmailAddress"]), []).append(kept)

    def match(self, customer: Customer) -> Contact | None:
        """The contact this customer already is: by email among active ones, else by our ContactNumber."""
        number = _key(payloads.contact_number(customer))
        same_email = self.by_email.get(_key(customer.email), ()) if customer.email else ()
        ours = [c for c in same_email if _key(c.get("ContactNumber")) == number]
        if same_email:
            return (ours or same_email)[0]
        return self.by_number.get(number)


BOOKS: Books[ContactIndex] = Books(ContactIndex)  # this process's copy of each tenant's contacts


def resolve(client: XeroClient, items: Sequence[SyncItem]) -> CustomerResolution:
    """Customers matched to existing contacts, and the rest to create (names made unique among active)."""
    customers = [(item, item.document) for item in items if isinstance(item.document, Customer)]
    if not customers:
        return CustomerResolution(matched=(), to_create=())
    index = contact_index(client, [customer for _, customer in customers], items)
    # The names this claim takes, beside the index's (shared with the process's other claims: left as it is).
    taken_names: set[str] = set()
    matched, to_create = [], []
    for item, customer in customers:
        contact = index.match(customer)
        if contact is not None:
            number = str(contact.get("ContactNumber", ""))
            ref = RemoteRef(ObjectKind.CUSTOMER, str(contact["ContactID"]), number)
            matched.append(ItemOutcome(record_id=item.record_id, remote=ref))
            continue
        # Created by PUT /Contacts, never by naming it on its first invoice. Xero staff have said a Name
        # alone finds the active contact of that name or creates one (community.xero.com developer discussion
        # 106550833; the sandbox does so), which would save these calls (80 of 446 at 10,000 invoices), but:
        # it finds by name, so a customer would land on a same-name contact with another email; and nothing
        # Xero publishes (API docs, OpenAPI spec; xero.md 11 lists it open) says the contact it creates keeps
        # the nested EmailAddress or ContactNumber, which every later match by email or number relies on.
        if _key(customer.name) in index.active_names or _key(customer.name) in taken_names:
            customer = replace(customer, name=payloads.disambiguated_name(customer))
            item = replace(item, document=customer)
        taken_names.add(_key(customer.name))
        to_create.append(item)
    return CustomerResolution(matched=tuple(matched), to_create=tuple(to_create))
