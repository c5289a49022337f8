"""Checks every sandbox response against Xero's official OpenAPI spec (openapi-core), plus what the spec
cannot say (docs/sandbox.md "Contract tests"):

- the spec models only 200 and 400: other statuses are checked against the shapes in xero.md §6
  (problem JSON for 401/403, exact plain texts for 404/500/503, the 429 headers);
- the spec types dates as plain strings: every date is checked to be ``/Date(ms+0000)/``, midnight UTC for
  date-only fields, and no key anywhere is JSON null (xero-python cannot read null dates or lists);
- the spec itself fails validation (``default: 'false'`` strings), so spec validation is switched off and
  only request/response validation runs.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.responses.exceptions import ResponseNotFound

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "xero_accounting.yaml"
MS_DATE = re.compile(r"^/Date\((\d+)\+0000\)/$")
DATE_ONLY = {
    "Date",
    "DueDate",
    "FullyPaidOnDate",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
    "EndOfYearLockDate",
}
INSTANTS = {"UpdatedDateUTC", "CreatedDateUTC", "DateTimeUTC"}
DAY_MS = 86_400_000
PROBLEM = {
    "type": "object",
    "required": ["Type", "Title", "Status", "Detail", "Instance", "Extensions"],
    "properties": {
        "Type": {"type": "null"},
        "Title": {"type": "string"},
        "Status": {"type": "integer"},
        "Detail": {"type": "string"},
        "Instance": {"type": "string"},
        "Extensions": {"type": "object"},
    },
    "additionalProperties": False,
}
VALIDATION_ERROR = {
    "type": "object",
    "required": ["ErrorNumber", "Type", "Message", "Elements"],
    "properties": {
        "ErrorNumber": {"type": "integer"},
        "Type": {"type": "string"},
        "Message": {"type": "string"},
        "Elements": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["ValidationErrors"],
                "properties": {
                    "ValidationErrors": {
                        "type": "array",
                        "items": {"type": "object", "required": ["Message"]},
                    }
                },
            },
        },
    },
}
PLAIN_TEXTS = {
    404: {"The resource you're looking for cannot be found"},
    500: {
        "An error occurred in Xero. Check the API Status page http://status.developer.xero.com for current "
        "service status."
    },
    503: {"The Organisation is offline", "The Xero API is currently offline for maintenance"},
}


@functools.cache
def spec_dict() -> dict[str, Any]:
    """The official spec, parsed once per process."""
    return yaml.load(SPEC.read_text(), Loader=yaml.CSafeLoader)


def wire_problems(value: Any, path: str = "$") -> list[str]:
    """Date forms and nulls the spec does not constrain."""
    problems: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if item is None:
                problems.append(f"{where} is null")
            elif key in DATE_ONLY | INSTANTS and isinstance(item, str):
                match = MS_DATE.match(item)
                if not match:
                    problems.append(f"{where}={item!r} is not /Date(ms+0000)/")
                elif key in DATE_ONLY and int(match.group(1)) % DAY_MS:
                    problems.append(f"{where}={item!r} is not midnight UTC")
            else:
                problems.extend(wire_problems(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(wire_problems(item, f"{path}[{index}]"))
    return problems


class Contract:
    """Validates responses of one sandbox; ``checked`` counts what it validated, by status."""

    def __init__(self, base_url: str) -> None:
        spec = {**spec_dict(), "servers": [{"url": base_url + "/api.xro/2.0"}]}
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self.checked: dict[int, int] = {}

    def check(self, response: requests.Response) -> None:
        status = response.status_code
        self.checked[status] = self.checked.get(status, 0) + 1
        content_type = response.headers.get("Content-Type", "")
        if status in (200, 400) and content_type.startswith("application/json"):
            try:
                self.api.validate_response(
                    RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
                )
            except ResponseNotFound:
                # GETs model only 200: a 400 (bad where clause) must still be Xero's error envelope.
                assert status == 400, status
                jsonschema.validate(response.json(), VALIDATION_ERROR)
            body = response.json()
            assert not wire_problems(body), wire_problems(body)[:5]
        elif status in (401, 403):
            jsonschema.validate(response.json(), PROBLEM)
        elif status in PLAIN_TEXTS:
            assert content_type.startswith("text/plain"), content_type
            assert response.text in PLAIN_TEXTS[status], response.text
        elif status == 429:
            assert response.headers["X-Rate-Limit-Problem"] in ("minute", "day", "concurrent", "appminute")
            if response.headers["X-Rate-Limit-Problem"] in ("minute", "day"):
                assert int(response.headers["Retry-After"]) >= 1
        else:
            raise AssertionError(f"unexpected status {status}: {response.text[:200]}")
        if status != 401 and status != 403:
            for header in ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining"):
                assert header in response.headers, (header, status)
