"""Look-up indexes over one tenant's books, for the rules a real ledger answers in the same time whatever the
size of the books: a name or number already taken, the payments applied to a document, a customer's invoices.

A sandbox that scanned every entity for such a rule slowed four- to twentyfold over a 10,000-invoice
backfill, so a benchmark measured the sandbox instead of the client. Each index maps a key to the ids of the
entities that carried it when they were last saved; a look-up reads each entity's current version and keeps
only those that carry the key still, so a key need never be dropped when an entity is deleted or voided. The
index lives in the books under a private key, in plain lists so the state file can hold it, and each part is
built from the books when missing (books made before it, or a part added since)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# ledger[private key] -> store -> index name -> folded key -> ids
Index = dict[str, dict[str, dict[str, list[str]]]]


def _as_is(value: Any) -> str:
    return str(value)


@dataclass(frozen=True)
class Key:
    """One index: the entities of `store` by the values `of` gives (none, one or several, e.g. one per
    payment line), compared after `fold`."""

    store: str
    name: str
    id_field: str
    of: Callable[[dict[str, Any]], Iterable[Any]]
    fold: Callable[[Any], str] = _as_is

    def folded(self, entity: dict[str, Any]) -> set[str]:
        return {self.fold(value) for value in self.of(entity) if value}


def field(name: str) -> Callable[[dict[str, Any]], Iterable[Any]]:
    """`Key.of` for a plain field."""
    return lambda entity: (entity.get(name),)


def id_order(id_: str) -> tuple[int, str]:
    return len(id_), id_  # numeric ids in number order; ids of one length (UUIDs) as text


class BookIndex:
    """The indexes `keys` of one provider's books, kept under `ledger[private_key]`."""

    def __init__(self, private_key: str, keys: Sequence[Key]) -> None:
        self.private_key = private_key
        self.keys = {(key.store, key.name): key for key in keys}
        self.stores = {key.store for key in keys}

    def _part(self, ledger: dict[str, Any], key: Key) -> dict[str, list[str]]:
        index: Index = ledger.setdefault(self.private_key, {})
        by_name = index.setdefault(key.store, {})
        if key.name not in by_name:
            built: dict[str, list[str]] = {}
            for entity in ledger.get(key.store, {}).values():
                for folded in key.folded(entity):
                    built.setdefault(folded, []).append(entity[key.id_field])
            by_name[key.name] = built
        return by_name[key.name]

    def with_key(self, ledger: dict[str, Any], store: str, name: str, value: Any) -> list[dict[str, Any]]:
        """The entities of `store` that carry `value` (folded) under index `name` now."""
        key = self.keys[(store, name)]
        wanted = key.fold(value)
        ids = self._part(ledger, key).get(wanted, ())
        entities = ledger.get(store, {})
        return [
            entities[i]
            for i in sorted(ids, key=id_order)
            if i in entities and wanted in key.folded(entities[i])
        ]

    def taken(self, ledger: dict[str, Any], store: str, name: str, value: Any) -> bool:
        """Whether any entity of `store` has ever been saved with `value` under index `name`."""
        key = self.keys[(store, name)]
        return bool(self._part(ledger, key).get(key.fold(value)))

    def saved(
        self, ledger: dict[str, Any], store: str, entity: dict[str, Any], before: dict[str, Any] | None
    ) -> None:
        """Index an entity just written to `store`; `before` is its previous version, whose keys it may
        leave."""
        if store not in self.stores:
            return
        for key in self.keys.values():
            if key.store != store:
                continue
            part = self._part(ledger, key)
            id_ = entity[key.id_field]
            now = key.folded(entity)
            for left in (key.folded(before) - now) if before is not None else ():
                holders = part.get(left, [])
                if id_ in holders:
                    holders.remove(id_)
            for folded in now:
                holders = part.setdefault(folded, [])
                if id_ not in holders:
                    holders.append(id_)
