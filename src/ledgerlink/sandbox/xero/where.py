"""Xero's ``where=`` filter language, the subset connectors use (xero.md §2 "Filtering"):

``Name=="ACME"``, ``EmailAddress=="a@b"``, ``Contact.ContactNumber=="CF-1"``, ``Status=="ACTIVE" AND
Type=="BANK"``, ``Type!="BANK"``, ``IsSupplier==true``, ``InvoiceID=guid("…")``,
``Date>=DateTime(2020,01,01)``, ``Name.Contains("x")``, ``Name.StartsWith("x")``, ``Name.ToLower()=="x"``,
``AND``/``OR``/``NOT``/``&&``/``||`` and parentheses. String comparison is case-insensitive (Xero's SQL
collation; UNVERIFIED, docs/sandbox.md). An expression outside this subset is a 400, never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|>|<|=|&&|\|\||\(|\)|,|!)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\))?)
    )""",
    re.VERBOSE,
)


_ESCAPE = re.compile(r"\\(.)")


class WhereError(ValueError):
    """An unsupported or malformed filter; the message is returned in a 400."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise WhereError(f"Unsupported where clause near '{text[pos : pos + 20]}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _lookup(entity: dict[str, Any], path: str) -> Any:
    value: Any = entity
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = part.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    left, right = _norm(left), _norm(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]
    except TypeError:
        return False


def _text_test(field: str, test: Callable[[str, str], bool], argument: str) -> Predicate:
    def predicate(entity: dict[str, Any]) -> bool:
        value = _lookup(entity, field)
        return isinstance(value, str) and test(value.lower(), argument)

    return predicate


def _comparison(path: str, op: str, value: Any) -> Predicate:
    return lambda entity: _compare(_lookup(entity, path), op, value)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise WhereError("Unexpected end of where clause")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise WhereError(f"Expected '{value}' in where clause")

    def expression(self) -> Predicate:
        left = self.conjunction()
        while (token := self.peek()) and token[1].upper() in ("OR", "||"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda e: a(e) or b(e))(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.factor()
        while (token := self.peek()) and token[1].upper() in ("AND", "&&"):
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda e: a(e) and b(e))(left, right)
        return left

    def factor(self) -> Predicate:
        token = self.peek()
        if token and token[1] == "(":
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        if token and token[1].upper() in ("NOT", "!"):
            self.take()
            inner = self.factor()
            return lambda e: not inner(e)
        return self.comparison()

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return _ESCAPE.sub(lambda m: m.group(1), text[1:-1])  # C#-like: \" and \\
        if kind == "number":
            return Decimal(text)
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if lowered == "guid":
            self.expect("(")
            value = self.literal()
            self.expect(")")
            return str(value).lower()
        if lowered == "datetime":
            self.expect("(")
            parts = [int(self.literal())]
            while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                parts.append(int(self.literal()))
            self.expect(")")
            return date(*parts[:3]).isoformat()
        raise WhereError(f"Unsupported value '{text}' in where clause")

    def comparison(self) -> Predicate:
        kind, path = self.take()
        if kind != "word":
            raise WhereError(f"Expected a field name, got '{path}'")
        lower_call = path.endswith(".ToLower()") or path.endswith(".ToUpper()")
        if lower_call:
            path = path.rsplit(".", 1)[0]
        for method, test in (
            (".Contains", lambda v, a: a in v),
            (".StartsWith", lambda v, a: v.startswith(a)),
            (".EndsWith", lambda v, a: v.endswith(a)),
        ):
            if path.endswith(method):
                field = path[: -len(method)]
                self.expect("(")
                argument = str(self.literal()).lower()
                self.expect(")")
                return _text_test(field, test, argument)
        op_kind, op = self.take()
        if op_kind != "op" or op not in ("==", "=", "!=", ">", "<", ">=", "<="):
            raise WhereError(f"Expected a comparison after '{path}'")
        op = "==" if op == "=" else op
        return _comparison(path, op, self.literal())


def compile_where(text: str | None) -> Predicate:
    """Compile a where clause into a predicate over internal (PascalCase) entities."""
    if not text or not text.strip():
        return lambda entity: True
    parser = _Parser(_tokens(text))
    predicate = parser.expression()
    if parser.peek() is not None:
        raise WhereError(f"Unexpected '{parser.peek()[1]}' in where clause")  # type: ignore[index]
    return predicate
