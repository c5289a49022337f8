"""QBO's validation errors as values: one ``Fault.Error`` entry with the status and Fault type it travels
with (quickbooks.md §6). The rules raise them; ``faults.py`` renders them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LENGTH_MESSAGE = "String length is either shorter or longer than supported by specification"


@dataclass(frozen=True)
class QBOError(Exception):
    """One ``Fault.Error`` entry and the HTTP status and Fault type it travels with."""

    code: str
    message: str
    detail: str = ""
    element: str = ""
    status: int = 400
    type: str = "ValidationFault"

    def error(self) -> dict[str, str]:
        detail = self.detail or self.message
        return {"Message": self.message, "Detail": detail, "code": self.code, "element": self.element}

    def fault(self) -> dict[str, Any]:
        return {"Error": [self.error()], "type": self.type}


def missing(element: str) -> QBOError:
    return QBOError(
        "2020", "Required param missing, need to supply the required value for the API", "", element
    )


def invalid_ref(element: str, value: str) -> QBOError:
    return QBOError(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {element} {value} not found", element
    )


def business(detail: str, element: str = "") -> QBOError:
    return QBOError(
        "6000", "A business validation error has occurred while processing your request", detail, element
    )


def too_long(element: str, limit: int) -> QBOError:
    return QBOError("2050", LENGTH_MESSAGE, f"{element} must be at most {limit} characters.", element)
