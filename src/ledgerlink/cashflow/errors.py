"""Domain errors raised by `services`: field-level messages, in the shape the API returns for bad input
({"detail": [{"loc": [...], "msg": ..., "type": ...}]}), so a caller sees one format whoever refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """One refusal: where (`loc`, a path into the input) and why (`msg`, a sentence for a person)."""

    loc: Loc
    msg: str
    type: str = "value_error"

    def as_dict(self, prefix: Loc = ()) -> dict[str, Any]:
        return {"loc": list(prefix + self.loc), "msg": self.msg, "type": self.type}


class ValidationError(Exception):
    """The input or the request cannot be accepted; nothing was changed. HTTP 422."""

    status = 422
    error_type = "value_error"

    def __init__(self, errors: Iterable[FieldError] | str, loc: Loc = ()):
        if isinstance(errors, str):
            errors = [FieldError(loc, errors, self.error_type)]
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in self.errors))

    def as_body(self, prefix: Loc = ()) -> dict[str, Any]:
        return {"detail": [error.as_dict(prefix) for error in self.errors]}


class ConflictError(ValidationError):
    """The request is valid but the object's state forbids it (e.g. cancelling a paid invoice). HTTP 409."""

    status = 409
    error_type = "state_conflict"


class ErrorCollector:
    """Gathers every field error of one input so the caller can fix them all in one go."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, loc: Loc, msg: str) -> None:
        self.errors.append(FieldError(loc, msg))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
