"""The QBO query language for the look-ups a connector does (quickbooks.md §2.9, §10 item 16):

    SELECT * | count(*) | *, Sku FROM <Entity> [WHERE a = 'v' AND b IN (...) AND c LIKE 'x%' AND d >= 5]
        [ORDER BY | ORDERBY <field> [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS m]

Keywords and field names are case-insensitive; string comparison too (a choice, docs/sandbox.md). ``OR``,
``JOIN`` and ``GROUP BY`` are refused with a 400, never ignored. Name lists hide inactive rows unless the
WHERE mentions ``Active``. ``MAXRESULTS`` defaults to 100 and is capped at 1000.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import QBOError

MODELLED = (
    "Account",
    "TaxCode",
    "TaxRate",
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "PaymentMethod",
    "Term",
    "Invoice",
    "Payment",
    "CreditMemo",
    "RefundReceipt",
    "CompanyInfo",
    "Preferences",
)
# QBO entities the sandbox does not keep: a query answers no rows rather than a 400 that would stop a
# client that reads them at start-up (real-clients.md, "What other connectors send").
NOT_MODELLED = (
    "Attachable",
    "Bill",
    "BillPayment",
    "Budget",
    "Class",
    "CompanyCurrency",
    "Currency",
    "CustomerType",
    "Department",
    "Deposit",
    "Estimate",
    "ExchangeRate",
    "JournalEntry",
    "Purchase",
    "PurchaseOrder",
    "SalesReceipt",
    "TaxAgency",
    "TimeActivity",
    "Transfer",
    "VendorCredit",
)
NAME_LISTS = frozenset(
    {"Account", "Customer", "Vendor", "Employee", "Item", "PaymentMethod", "Term", "TaxCode"}
)
DEFAULT_MAX, CAP = 100, 1000
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_FORBIDDEN = {"OR", "JOIN", "GROUP", "HAVING", "UNION"}


def parse_error(detail: str) -> QBOError:
    return QBOError("4000", "Error parsing query", f"QueryParserError: {detail}")


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    values: tuple[Any, ...]


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_MAX


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise parse_error(f"Encountered an unexpected character at column {position + 1}.")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise parse_error("Unexpected end of statement.")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the keywords if they come next (case-insensitive)."""
        upcoming = self.tokens[self.at : self.at + len(words)]
        if len(upcoming) == len(words) and all(
            k == "word" and t.upper() == w for (k, t), w in zip(upcoming, words, strict=True)
        ):
            self.at += len(words)
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise parse_error(f"Expected {word}.")

    def integer(self) -> int:
        kind, text = self.take()
        if kind != "number" or not text.isdigit():
            raise parse_error(f"Expected a whole number, found {text}.")
        return int(text)

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return Decimal(text)
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise parse_error(f"Expected a value, found {text}.")


def _select(parser: _Parser, query: Query) -> None:
    if parser.keyword("COUNT"):
        for expected in ("(", "*", ")"):
            if parser.take()[1] != expected:
                raise parse_error("Expected count(*).")
        query.count = True
        return
    while True:  # "*", "*, Sku" (python-quickbooks' Item.all) or field names: every property comes back
        kind, text = parser.take()
        if kind not in ("word", "punct") or (kind == "word" and text.upper() == "FROM"):
            raise parse_error(f"Unexpected {text} in the select list.")
        if parser.peek() != ("punct", ","):
            return
        parser.take()


def _condition(parser: _Parser) -> Condition:
    kind, path = parser.take()
    if kind != "word":
        raise parse_error(f"Expected a property name, found {path}.")
    if parser.keyword("IN"):
        if parser.take() != ("punct", "("):
            raise parse_error("Expected ( after IN.")
        values = [parser.value()]
        while parser.peek() == ("punct", ","):
            parser.take()
            values.append(parser.value())
        if parser.take() != ("punct", ")"):
            raise parse_error("Expected ) to close IN.")
        return Condition(path, "IN", tuple(values))
    if parser.keyword("LIKE"):
        return Condition(path, "LIKE", (parser.value(),))
    kind, op = parser.take()
    if kind != "op":
        raise parse_error(f"Expected an operator after {path}, found {op}.")
    return Condition(path, "!=" if op == "<>" else op, (parser.value(),))


def _canonical(name: str) -> str:
    for entity in MODELLED + NOT_MODELLED:
        if entity.lower() == name.lower():
            return entity
    raise parse_error(f"Invalid context declaration: {name}")


def parse(text: str) -> Query:
    parser = _Parser(text)
    for _, token in parser.tokens:
        if token.upper() in _FORBIDDEN:
            raise parse_error(
                f'Encountered " {token.upper()} " which the QBO query language does not support.'
            )
    parser.expect("SELECT")
    holder = Query(entity="")
    _select(parser, holder)
    parser.expect("FROM")
    query = Query(entity=_canonical(parser.take()[1]), count=holder.count)
    if parser.keyword("WHERE"):
        query.conditions.append(_condition(parser))
        while parser.keyword("AND"):
            query.conditions.append(_condition(parser))
    if parser.keyword("ORDER", "BY") or parser.keyword("ORDERBY"):
        query.order = _order(parser)
    while parser.peek() is not None:
        if parser.keyword("STARTPOSITION"):
            query.start = max(1, parser.integer())
        elif parser.keyword("MAXRESULTS"):
            query.max_results = min(CAP, max(1, parser.integer()))
        else:
            raise parse_error(f"Unexpected {parser.take()[1]}.")
    return query


def _order(parser: _Parser) -> list[tuple[str, bool]]:
    order = []
    while True:
        kind, path = parser.take()
        if kind != "word":
            raise parse_error(f"Expected a property to order by, found {path}.")
        descending = parser.keyword("DESC")
        if not descending:
            parser.keyword("ASC")
        order.append((path, descending))
        if parser.peek() != ("punct", ","):
            return order
        parser.take()


# -- evaluation -------------------------------------------------------------------------------------------
def _lookup(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _comparable(stored: Any, given: Any) -> tuple[Any, Any]:
    """Bring both sides to one type: MetaData times are epochs, strings compare case-insensitively."""
    if isinstance(stored, float) and isinstance(given, str):
        try:
            return stored, datetime.fromisoformat(given.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise parse_error(f"{given} is not a date-time.") from None
    if isinstance(stored, bool) or isinstance(given, bool):
        return stored, given
    numeric = isinstance(given, Decimal) or isinstance(stored, int | float | Decimal)
    if numeric:  # QBO accepts '5' and 5 alike for a number
        try:
            return Decimal(str(stored)), Decimal(str(given))
        except ArithmeticError:
            pass
    return str(stored).casefold(), str(given).casefold()


@functools.lru_cache(maxsize=256)
def _folded(values: tuple[Any, ...]) -> frozenset[str] | None:
    """An IN list of strings, case-folded as `_comparable` compares strings; None when any is not a string
    (a number or a boolean compares by value)."""
    if not all(isinstance(value, str) for value in values):
        return None
    return frozenset(value.casefold() for value in values)


def _holds(record: dict[str, Any], condition: Condition) -> bool:
    stored = _lookup(record, condition.path)
    if stored is None:
        return False
    if condition.op == "LIKE":
        pattern = "".join(".*" if c == "%" else re.escape(c) for c in str(condition.values[0]))
        return re.fullmatch(pattern, str(stored), re.IGNORECASE | re.DOTALL) is not None
    if condition.op == "IN":
        if isinstance(stored, str) and not isinstance(stored, bool):
            folded = _folded(condition.values)
            if folded is not None:  # strings against strings: one set look-up, not one compare per value
                return stored.casefold() in folded
        return any(_holds(record, Condition(condition.path, "=", (v,))) for v in condition.values)
    left, right = _comparable(stored, condition.values[0])
    try:
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[condition.op]
    except TypeError:
        raise parse_error(f"{condition.path} cannot be compared with {condition.values[0]}.") from None


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, str) and value.isdigit():
        return (0, Decimal(value))
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (0, Decimal(str(value)))
    return (1, "" if value is None else str(value).casefold())


def run(
    query: Query, rows: list[dict[str, Any]], view: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """The ``QueryResponse`` object for ``rows`` (the entity's visible records)."""
    mentions_active = any(c.path.lower() == "active" for c in query.conditions)
    if query.entity in NAME_LISTS and not mentions_active:
        rows = [r for r in rows if r.get("Active", True)]
    rows = [r for r in rows if all(_holds(r, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: _sort_key(r.get("Id")))
    for path, descending in reversed(query.order):
        rows.sort(key=lambda r, p=path: _sort_key(_lookup(r, p)), reverse=descending)  # type: ignore[misc]
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: [view(r) for r in page], "startPosition": query.start, "maxResults": len(page)}
