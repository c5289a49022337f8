"""Schemathesis against the API's own OpenAPI, every operation mounted on it (billing's /usage too): no 500s,
every response matches the documented schema, and every refusal is the API's JSON naming the bad field.

Half the generated cases get real ids of the caller's organisation (customer, tax rate, invoice, payment)
swapped in, so the fuzzing reaches the services instead of stopping at 404 and 422."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.api import api

from .helpers import make_invoice

EXAMPLES_PER_OPERATION = 60
# Where a field error may point: the parts of a request a client controls.
FIELD_LOCATIONS = frozenset({"body", "query", "path", "header"})


def errors_name_their_field(ctx, response, case) -> None:
    """Every 4xx is JSON; a refused input (422, 413) lists {loc, msg, type} entries whose loc starts at the
    part of the request at fault, and a refused change (409) lists them too (loc may be empty: the state)."""
    if not 400 <= response.status_code < 500:
        return
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), response.text[:200]
    detail = response.json()["detail"]
    if response.status_code not in (409, 413, 422):
        assert isinstance(detail, str) and detail, detail
        return
    assert isinstance(detail, list) and detail, detail
    for error in detail:
        assert set(error) == {"loc", "msg", "type"} and error["msg"], error
        if response.status_code != 409:
            assert error["loc"] and error["loc"][0] in FIELD_LOCATIONS, error


CHECKS = [
    not_a_server_error,
    errors_name_their_field,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
cases_run = itertools.count()
swap = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def report_cases():
    """Print how many cases ran (visible with -s); the count is a figure the project reports."""
    yield
    print(f"\nschemathesis: {next(cases_run)} cases over {len(OPERATIONS)} operations")


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the database connection after each response (Django's
    test client turns that off the same way), ending the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(keep_test_connection, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="5000.00")
    payment = services.record_payment(invoice, Decimal("1000.00"), "card")
    _, key = apikeys.create_api_key(organisation)
    return {
        "headers": {"Authorization": f"Bearer {key}"},
        "ids": {
            "customer_id": str(customer.pk),
            "invoice_id": str(invoice.pk),
            "payment_id": str(payment.pk),
            "tax_rate_id": str(gst.pk),
        },
    }


# Built at import from the API object itself (the same document /api/v1/openapi.json serves), and called
# through the WSGI application in the test's thread and database transaction.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
schema.app = get_wsgi_application()


def _negative(case, location: ParameterLocation | None = None) -> bool:
    if case.meta is None:
        return False
    if location is None:
        return case.meta.generation.mode.is_negative
    return case.meta.is_negative_at(location)


def _use_real_ids(case, ids: dict[str, str]) -> None:
    """Swap real ids into half the valid cases (an invalid case must stay invalid)."""
    if _negative(case) or next(swap) % 2:
        return
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name]
    if isinstance(case.body, dict):
        if "customer_id" in case.body:
            case.body["customer_id"] = ids["customer_id"]
        for line in case.body.get("lines") or []:
            if isinstance(line, dict) and "tax_rate_id" in line:
                line["tax_rate_id"] = ids["tax_rate_id"]


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def _cases(operation) -> st.SearchStrategy:
    """Valid and invalid requests for one operation (an operation without inputs has no invalid ones)."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    if not any(operation.iter_parameters()) and not operation.body.items:
        return positive
    return st.one_of(positive, operation.as_strategy(GenerationMode.NEGATIVE))


# One pytest item per operation through pytest's own parametrize: schemathesis's plugin gives every
# operation the same node id under pytest 9, and xdist's loadgroup then runs only one of them.
@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_api_conforms_to_its_openapi(operation, world):
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=_cases(operation))
    def check(case) -> None:
        _use_real_ids(case, world["ids"])
        next(cases_run)
        # A case built to break the headers (say, no Authorization) must not be repaired by ours.
        headers = {} if _negative(case, ParameterLocation.HEADER) else world["headers"]
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
