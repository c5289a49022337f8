"""Fixtures for the ledger tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from ledgerlink.ledgers.http import json_bytes

REPO = Path(__file__).resolve().parents[2]
XERO_SPEC = REPO.parent / "shared" / "specs" / "xero_accounting.yaml"
XERO_SERVER = "https://api.xero.com/api.xro/2.0"


class XeroSpec:
    """Validates requests against Xero's OpenAPI spec (the spec file itself fails strict validation, so the
    spec check is off; request validation is on)."""

    def __init__(self) -> None:
        self.api = OpenAPI.from_file_path(str(XERO_SPEC), config=Config(spec_validator_cls=None))

    def validate(self, method: str, path: str, body: object, params: dict[str, str] | None = None) -> None:
        request = requests.Request(
            method,
            f"{XERO_SERVER}{path}",
            params=params or {},
            data=json_bytes(body),
            headers={"xero-tenant-id": "tenant", "Content-Type": "application/json", "Idempotency-Key": "k"},
        ).prepare()
        self.api.validate_request(RequestsOpenAPIRequest(request))


@pytest.fixture(scope="session")
def xero_spec() -> XeroSpec:
    if not XERO_SPEC.exists():
        pytest.fail(f"Xero's OpenAPI spec is missing at {XERO_SPEC}")
    return XeroSpec()


@pytest.fixture
def xero_body():
    """Loads a fact-sheet error body stored beside the Xero tests."""

    def load(name: str) -> object:
        return json.loads((Path(__file__).parent / "xero" / "bodies" / name).read_text())

    return load
