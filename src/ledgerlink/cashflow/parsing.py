"""Reading API request bodies strictly, and the JSON errors for bodies that cannot be read.

ninja wraps any parser failure in a bare `HttpError(400, "Cannot parse request body")`; the parser here raises
`BodyNotJson`, which ninja keeps as the 400's cause, so the API can answer it in its own 422 shape."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.parser import Parser

BODY_LOC = ["body"]


class BodyNotJson(ValueError):
    """The body is not one JSON document in UTF-8 (or uses NaN/Infinity, which JSON does not have)."""


def _no_constants(name: str) -> Any:
    raise BodyNotJson(f"{name} is not JSON.")


class StrictJsonParser(Parser):
    """JSON in UTF-8 only; NaN and Infinity refused (Python's json takes them, no other client sends them)."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            return json.loads(request.body.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise BodyNotJson(str(error)) from error


def not_json_error() -> dict[str, Any]:
    return {
        "detail": [{"loc": BODY_LOC, "msg": "The body must be one JSON document in UTF-8.", "type": "json"}]
    }


def too_large_error() -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return {
        "detail": [{"loc": BODY_LOC, "msg": f"The body is larger than {limit} bytes.", "type": "too_large"}]
    }
