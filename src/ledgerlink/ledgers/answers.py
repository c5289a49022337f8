"""Reading what a ledger said about one object, whichever ledger: the parts both providers' results.py check
before they trust an answer. An answer that is neither plainly saved nor plainly refused is never guessed at:
its item becomes `UnknownOutcome`, and the engine looks it up before anything is sent again."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledgerlink.ledgers.errors import Retry, UnknownOutcome

# Ledger ids are short (a GUID is 36 characters, others a few digits): anything much longer is not an id.
MAX_ID_LENGTH = 64
# No invoice, payment or credit reaches a quadrillion: a total beyond is a misread, not an amount.
MAX_AMOUNT = Decimal(10) ** 15


class Malformed(ValueError):
    """A part of an answer that cannot be read as what the ledger documents."""


def objects(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects of a list the ledger should have sent; nothing for anything else (a hostile or broken
    answer may put a number, a string or an object where a list belongs)."""
    return [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []


def amount(value: Any) -> Decimal | None:
    """A money amount as the ledger sent it (a JSON number or a decimal string), None when absent; raises
    `Malformed` for text, booleans, objects, NaN, infinities and absurd magnitudes."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            number = None
        if number is not None and number.is_finite() and abs(number) < MAX_AMOUNT:
            return number
    raise Malformed(f"an unreadable amount {str(value)[:40]!r}")


def usable_id(value: Any, field: str) -> str:
    """The ledger's id for an object: a short, non-blank string, or `Malformed`."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH:
        raise Malformed(f"no usable {field}")
    return value


def unreadable(ledger: str, noun: str, problem: str, correlation_id: str = "") -> UnknownOutcome:
    """The ledger's answer about an object could not be read; it may have been saved."""
    return UnknownOutcome(
        f"{ledger}'s answer about this {noun} could not be read ({problem}); it will be looked up before "
        "anything is sent again.",
        code="unreadable_answer",
        correlation_id=correlation_id,
    )


def not_in_answer(ledger: str, noun: str, correlation_id: str = "") -> UnknownOutcome:
    """The ledger's answer did not mention an object sent; it may have been saved."""
    return UnknownOutcome(
        f"{ledger}'s answer did not mention this {noun}; it will be looked up before anything is sent again.",
        code="not_in_answer",
        correlation_id=correlation_id,
    )


def unreadable_read(ledger: str, noun: str, correlation_id: str = "") -> Retry:
    """A read's answer could not be read. A Retry: a read changes nothing, so asking again is safe, and
    taking it as empty could make a look-up say "not there" and the engine send a duplicate."""
    return Retry(
        f"{ledger}'s answer to the {noun} could not be read; it will be asked again.",
        code="unreadable_answer",
        correlation_id=correlation_id,
    )


def readable(body: Any, ledger: str, noun: str, correlation_id: str = "") -> Mapping[str, Any]:
    """A read's answer as the JSON object it must be (not an HTML page behind a 200, a list, a number)."""
    if isinstance(body, Mapping):
        return body
    raise unreadable_read(ledger, noun, correlation_id)
