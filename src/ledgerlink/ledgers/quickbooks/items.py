"""The Service items QuickBooks invoice lines post through: one per CashFlow line type and income account.

A QuickBooks sales line has no account of its own; it posts to its Item's `IncomeAccountRef` (quickbooks.md
2.4). So each line type gets an item bound to the account its mapping names, found by name or created on
first use. An item of that name bound to another account (the mapping changed since) is left alone, so
earlier invoices keep the account they posted to: a new item named with the account is made instead. Items
are found in one query and remembered as this process's copy of the company's items (`ITEMS`, the rules in
ledgers/books.py), with those it made, so a backfill's builds after the first need no call. The rounding
line's item is found or made only when a document needs a rounding line (`LineItems`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from ledgerlink.ledgers.books import Copies
from ledgerlink.ledgers.contract import AccountRef
from ledgerlink.ledgers.quickbooks import contacts, errors, payloads
from ledgerlink.ledgers.quickbooks.client import QuickBooksClient

Known = dict[tuple[str, str], str]  # item id by (name, income account id)
ITEMS: Copies[Known] = Copies()


def _fold(name: Any) -> str:
    # QuickBooks compares names case-insensitively.
    return str(name or "").strip().casefold()


def renamed(name: str, account: AccountRef) -> str:
    """The name an item takes when its plain name is held by an item on another account."""
    return f"{name} - {account.name or account.code or account.id}"[:100]


class ItemCatalog:
    """Item ids by (name, income account id), for one company."""

    def __init__(self, client: QuickBooksClient) -> None:
        self.client = client

    @property
    def _known(self) -> Known:
        # The process's copy, begun empty: filled by the look-ups and creates below.
        return ITEMS.read_once(self.client.realm_id, dict)

    def for_lines(self, lines: Mapping[str, AccountRef]) -> dict[str, str]:
        """Item ids by line type, found or created bound to each line type's income account."""
        wanted = {
            line_type: (payloads.item_label(line_type), account) for line_type, account in lines.items()
        }
        known = self._known
        if any((name, account.id) not in known for name, account in wanted.values()):
            self._find(known, list(wanted.values()))
        found = {}
        for line_type, (name, account) in wanted.items():
            if (name, account.id) not in known:
                known[(name, account.id)] = self._create(name, account)
            found[line_type] = known[(name, account.id)]
        return found

    def _find(self, known: Known, wanted: list[tuple[str, AccountRef]]) -> None:
        """One query for every name the wanted items may carry (active items only: an inactive one would be
        refused on a line, 610)."""
        candidates = sorted({c for name, account in wanted for c in (name, renamed(name, account))})
        existing: dict[str, tuple[str, str]] = {}  # name -> (id, income account id)
        for clause in contacts.in_clauses("Name", candidates):
            for row in self.client.query("Item", clause, "item look-up"):
                account_id = str((row.get("IncomeAccountRef") or {}).get("value") or "")
                existing[_fold(row.get("Name"))] = (str(row["Id"]), account_id)
        for name, account in wanted:
            for candidate in (name, renamed(name, account)):
                item_id, bound_to = existing.get(_fold(candidate), ("", ""))
                if item_id and bound_to == account.id:
                    known.setdefault((name, account.id), item_id)
                    break

    def _create(self, name: str, account: AccountRef) -> str:
        """Create the item under a requestid derived from the company, name and account: a lost answer
        replayed is answered with the same item. A name already used (an item on another account, or an
        inactive one) gets the account in its name."""
        for candidate in (name, renamed(name, account)):
            seed = f"{self.client.realm_id}|{candidate}|{account.id}"
            key = "ll-item-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
            response = self.client.write("Item", payloads.item_body(candidate, account), key)
            if response.status == 200:
                return str(response.body["Item"]["Id"])  # type: ignore[index]
            found = errors.faults(response.body)
            if response.status != 400 or not found or found[0].code != errors.DUPLICATE_NAME:
                break
        raise errors.request_error(
            response.status, response.body, response.headers, "item", response.correlation_id
        )


class LineItems(Mapping[str, str]):
    """Item ids by line type for one build: the lines' own, found or made before it; `later` ones (the tax
    rounding line's) found or made on first use, since most documents need no rounding line (tax-inclusive
    ones never do) and a company should not get an item nothing posts through."""

    def __init__(self, catalog: ItemCatalog, found: Mapping[str, str], later: Mapping[str, AccountRef]):
        self._catalog = catalog
        self._found = dict(found)
        self._later = later

    def __getitem__(self, line_type: str) -> str:
        if line_type not in self._found:
            account = self._later[line_type]  # KeyError for a line type this build has no account for
            self._found.update(self._catalog.for_lines({line_type: account}))
        return self._found[line_type]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._later, **self._found})

    def __len__(self) -> int:
        return len({**self._later, **self._found})
