"""The preview as a reader wants it: the ledger lines as a table (description, account, tax, amounts) and
the document's totals, found in any ledger's body without knowing its field names: the lines are the first
list of objects under a key that names lines ("LineItems", "Line"), the totals are the fields beside it
whose names say total or amount. The exact JSON stays on the page behind a toggle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LineTable:
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    totals: list[tuple[str, str]] = field(default_factory=list)
    header: list[tuple[str, str]] = field(default_factory=list)


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Scalars of an object, nested objects one level down as "Parent Child" (an account reference)."""
    out: dict[str, str] = {}
    for key, item in value.items():
        name = f"{prefix} {key}".strip()
        if isinstance(item, dict) and not prefix:
            out.update(_flat(item, key))
        elif not isinstance(item, (dict, list)) and item not in (None, ""):
            out[name] = str(item)
    return out


def _find_lines(body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    if isinstance(body, dict):
        for key, value in body.items():
            if "line" in key.lower() and isinstance(value, list) and value and isinstance(value[0], dict):
                return body, value
        children: list[Any] = list(body.values())
    elif isinstance(body, list):
        children = body
    else:
        return None
    for child in children:
        found = _find_lines(child)
        if found:
            return found
    return None


def line_table(body: Any) -> LineTable:
    found = _find_lines(body)
    if found is None:
        return LineTable()
    document, lines = found
    flat_lines = [_flat(line) for line in lines]
    columns: list[str] = []
    for line in flat_lines:
        columns += [key for key in line if key not in columns and not key.lower().endswith("id")]
    scalars = _flat({k: v for k, v in document.items() if not isinstance(v, list)})
    totals = [(k, v) for k, v in scalars.items() if "total" in k.lower() or "amount" in k.lower()]
    header = [(k, v) for k, v in scalars.items() if (k, v) not in totals and not k.lower().endswith("id")]
    return LineTable(columns, [[line.get(c, "") for c in columns] for line in flat_lines], totals, header)
