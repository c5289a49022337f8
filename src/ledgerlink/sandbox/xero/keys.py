"""Look-up indexes over one organisation's books: contacts by name and by number, documents by number.

Xero answers a create in the same time whatever the size of the books; a sandbox that scanned every contact
for the name rule and every invoice for the number rule slowed four-fold over a 10,000-invoice backfill and
could not hold 100,000 at all, so a benchmark measured the sandbox instead of the client. The index maps
each key to the ids that carried it when they were last saved; the rules still read each entity's current
status, so a key never has to be dropped when an invoice is deleted or a contact archived. It is kept in the
books under a private key, in plain lists so the state file can hold it, and rebuilt when missing (books
made before it)."""

from __future__ import annotations

from typing import Any

PRIVATE_KEY = "_keys"
# Per store: the id field and the key fields indexed, each compared without case.
FIELDS = {
    "contacts": ("ContactID", ("Name", "ContactNumber")),
    "invoices": ("InvoiceID", ("InvoiceNumber",)),
    "credit_notes": ("CreditNoteID", ("CreditNoteNumber",)),
}

Index = dict[str, dict[str, dict[str, list[str]]]]  # store -> field -> folded key -> ids


def fold(value: Any) -> str:
    """A key as the rules compare it: trimmed, without case."""
    return str(value).strip().lower()


def _build(ledger: dict[str, Any]) -> Index:
    index: Index = {}
    for store, (id_field, fields) in FIELDS.items():
        index[store] = {name: {} for name in fields}
        for entity in ledger.get(store, {}).values():
            for name in fields:
                if entity.get(name):
                    index[store][name].setdefault(fold(entity[name]), []).append(entity[id_field])
    return index


def _index(ledger: dict[str, Any]) -> Index:
    if PRIVATE_KEY not in ledger:
        ledger[PRIVATE_KEY] = _build(ledger)
    index: Index = ledger[PRIVATE_KEY]
    return index


def with_key(ledger: dict[str, Any], store: str, name: str, value: Any) -> list[dict[str, Any]]:
    """The entities of `store` whose `name` field was `value` (folded) when last saved."""
    ids = _index(ledger)[store][name].get(fold(value), ())
    entities = ledger[store]
    return [
        entities[i] for i in sorted(ids) if i in entities and fold(entities[i].get(name, "")) == fold(value)
    ]


def taken(ledger: dict[str, Any], store: str, name: str, value: Any) -> bool:
    """Whether any entity of `store` has ever been saved with `value` in `name`."""
    return bool(_index(ledger)[store][name].get(fold(value)))


def saved(ledger: dict[str, Any], store: str, entity: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Index an entity just written to `store`; `before` is its previous version, whose keys it may leave."""
    id_field, fields = FIELDS[store]
    index = _index(ledger)[store]
    for name in fields:
        if before is not None and before.get(name) and before.get(name) != entity.get(name):
            left = index[name].get(fold(before[name]), [])
            if before[id_field] in left:
                left.remove(before[id_field])
        if entity.get(name):
            ids = index[name].setdefault(fold(entity[name]), [])
            if entity[id_field] not in ids:
                ids.append(entity[id_field])
