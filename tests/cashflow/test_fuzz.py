"""Schemathesis against the API's own OpenAPI, every operation mounted on it (billing's /usage too): no 500s,
every response matches the documented schema, and every refusal is the API's JSON naming the bad field.

Half the generated cases get real ids of the caller's organisation (customer, tax rate, invoice, payment)
swapped in, so the fuzzing reaches the services instead of stopping at 404 and 422."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, assume, given, settings
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
# Every run draws the same cases (seeded by the test), none kept between runs, no time limit per case.
BOUNDED = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
    "database": None,
}
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
def _load_schema() -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
    loaded.app = get_wsgi_application()
    # Schemathesis can seed inputs with constants it finds in the loaded application's modules; which modules
    # are loaded depends on the tests that ran before in the process, so the cases would too.
    loaded.config.analysis.constants.enabled = False
    return loaded


schema = _load_schema()


def _negative(case, location: ParameterLocation | None = None) -> bool:
    if case.meta is None:
        return False
    if location is None:
        return case.meta.generation.mode.is_negative
    return case.meta.is_negative_at(location)


def _unsendable(case) -> bool:
    """A query value made an object or a list to break the schema goes over the wire as repeated or absent
    parameters, which may read as a valid value (`?email=a&email=b@c.example`): nothing to reject."""
    if not _negative(case, ParameterLocation.QUERY):
        return False
    return any(isinstance(value, dict | list) for value in (case.query or {}).values())


def _use_real_ids(case, ids: dict[str, str], swap: bool) -> None:
    """Swap real ids into half the valid cases (an invalid case must stay invalid)."""
    if _negative(case) or not swap:
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
        **BOUNDED,
    )
    # Whether to swap is drawn with the case (a counter would make the cases depend on the tests before).
    @given(case=_cases(operation), swap=st.booleans())
    def check(case, swap: bool) -> None:
        assume(not _unsendable(case))
        _use_real_ids(case, world["ids"], swap)
        next(cases_run)
        # A case built to break the headers (say, no Authorization) must not be repaired by ours.
        headers = {} if _negative(case, ParameterLocation.HEADER) else world["headers"]
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


STATEFUL_SCENARIOS = 60
# The chain a client walks: it only counts as reached when each step answered 2xx.
CHAIN = (
    "POST /api/v1/customers",
    "POST /api/v1/invoices",
    "POST /api/v1/invoices/{invoice_id}/issue",
    "POST /api/v1/invoices/{invoice_id}/payments",
)


def _payable_invoice(body: dict, customer_id: str, tax_rate_id: str) -> None:
    """Turn a generated invoice into one the organisation can issue: its customer (the scenario's newest),
    its tax rate, its currency, no project, and a due date no earlier than the issue date. Amounts, lines,
    text and dates stay as generated."""
    body.update(customer_id=customer_id, kind="custom", project_id=None, currency=None)
    body["issue_date"] = body.get("due_date")
    for line in body.get("lines") or []:
        if isinstance(line, dict):
            line["tax_rate_id"] = tax_rate_id


# Which of a scenario's objects a step acts on when the id it was given is not one the scenario made.
STEERED = {
    "/issue": ("invoice_id", "draft"),
    "/payments": ("invoice_id", "issued"),
    "/refunds": ("payment_id", "payment"),
    "/chargeback": ("payment_id", "payment"),
    "/undo": ("payment_id", "payment"),
}


def _steer_to_made(case, made: dict[str, list[str]]) -> None:
    """Most generated ids name nothing (404, which the test above covers); a chain goes on only where a step
    acts on what the scenario made, so a step on a stranger's id gets the newest object in the state it
    needs (the inferred links already do this for some of the steps)."""
    for suffix, (name, state) in STEERED.items():
        params = case.path_parameters or {}
        if case.operation.label.endswith(suffix) and made[state] and params.get(name) not in made[state]:
            params[name] = made[state][-1]


def test_chained_calls_never_fail(world):
    """Schemathesis's stateful mode: it infers from the schema which answer feeds which request (a created
    customer's id into an invoice, the invoice's id into issue and pay) and walks those chains, with the same
    checks after every step."""
    succeeded: dict[str, int] = dict.fromkeys(CHAIN, 0)

    # Valid requests only: invalid ones are the test above's, and an empty list in the query, which the
    # negative mode makes, goes over the wire as no parameter at all, so it is accepted as it should be.
    # Usage and the sync queue answer from counters other tests leave behind and feed no later step: left out,
    # so the walk is the same whichever tests ran before it in the process.
    chained = _load_schema().exclude(path_regex=r"/(usage|sync)$")
    chained.config.generation.update(modes=[GenerationMode.POSITIVE], allow_x00=False)

    class Workflow(chained.as_state_machine()):  # type: ignore[misc]
        def setup(self):
            # Each scenario runs in a savepoint rolled back at its end: every scenario starts from the same
            # books, so hypothesis can replay and shrink one it found failing.
            self.savepoint = transaction.atomic()
            self.savepoint.__enter__()
            self.customer_id = world["ids"]["customer_id"]
            self.calls = 0
            # What this scenario made, newest last, by the state a next step needs it in.
            self.made: dict[str, list[str]] = {"draft": [], "issued": [], "payment": []}

        def teardown(self):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

        def before_call(self, case):
            self.calls += 1
            if case.headers and case.headers.get("Idempotency-Key"):
                # Generated keys are short and repeat ("0"): a key is the organisation's, so a repeat on
                # another request is a 409 (tested above) and would end every chain here.
                case.headers["Idempotency-Key"] += f"-{self.calls}"
            if case.operation.label == "POST /api/v1/invoices" and isinstance(case.body, dict):
                _payable_invoice(case.body, self.customer_id, world["ids"]["tax_rate_id"])
            _steer_to_made(case, self.made)

        def get_call_kwargs(self, case):
            return {"headers": world["headers"]}

        def after_call(self, response, case):
            super().after_call(response, case)
            next(cases_run)
            if case.operation.label in succeeded and response.status_code < 300:
                succeeded[case.operation.label] += 1
            if response.status_code < 300:
                self._remember(case.operation.label, response.json())

        def _remember(self, label, body):
            if label == "POST /api/v1/customers":
                self.customer_id = body["id"]
            elif label == "POST /api/v1/invoices":
                self.made["draft"].append(body["id"])
            elif label.endswith("/issue"):
                self.made["issued"].append(body["id"])
            elif label.endswith("/payments"):
                self.made["payment"].append(body["id"])

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            **BOUNDED,
        )
    )
    print(f"\nstateful: successful steps {succeeded}")
    # How far the walks get depends on what earlier tests left in the process (see above), so only the
    # first links are held to here; the whole chain is the next test's, from generated bodies.
    assert succeeded["POST /api/v1/customers"] and succeeded["POST /api/v1/invoices"], succeeded


CHAIN_EXAMPLES = 25


def test_a_generated_customer_is_invoiced_issued_and_paid(world):
    """The chain a client walks, each body generated from the schema (valid): create a customer, invoice it,
    issue, pay. Every step passes the same checks; a payment the invoice can take is taken, and the invoice
    then owes its total less what was paid."""
    chain = _load_schema()
    chain.config.generation.update(allow_x00=False)
    labels = (*CHAIN, "GET /api/v1/invoices/{invoice_id}")
    steps = {label: chain[path][method] for label in labels for method, path in [label.split(" ", 1)]}
    reached: list[int] = []

    def call(data, label: str, repair=None, **ids: str):
        case = data.draw(steps[label].as_strategy(GenerationMode.POSITIVE), label=label)
        case.path_parameters = {**(case.path_parameters or {}), **ids}
        # A generated key may repeat an earlier walk's: a 409 the test above covers, not this chain's.
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "idempotency-key"}
        if repair is not None:
            repair(case.body)
        next(cases_run)
        return case.call_and_validate(headers=world["headers"], checks=CHECKS)

    @settings(
        max_examples=CHAIN_EXAMPLES,
        **BOUNDED,
    )
    @given(data=st.data())
    def walk(data) -> None:
        with transaction.atomic():
            reached.append(_walk(data, call, world["ids"]["tax_rate_id"]))
            transaction.set_rollback(True)

    walk()
    print(f"\nchain: {len(reached)} walks, steps reached {sorted(reached)}")
    assert reached.count(len(CHAIN)) >= CHAIN_EXAMPLES // 5, reached


# A fixed past day for the chain's invoices: one generated for the future cannot be issued today (409).
ISSUED_ON = dt.date(2026, 1, 5)


def _on_or_after_issue(value: object, days: int = 365) -> str:
    """A generated date moved into the year after ISSUED_ON, so it is never before the issue date nor,
    since ISSUED_ON is past, much in the future; a generated one already there is kept."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        day = ISSUED_ON
    return (day if ISSUED_ON <= day <= ISSUED_ON + dt.timedelta(days=days) else ISSUED_ON).isoformat()


def _owing_invoice(body: dict, customer_id: str, tax_rate_id: str) -> None:
    """A payable invoice whose lines all charge (a generated line's sign and its type rarely agree), issued
    on a fixed past day."""
    _payable_invoice(body, customer_id, tax_rate_id)
    body.update(issue_date=ISSUED_ON.isoformat(), due_date=_on_or_after_issue(body.get("due_date")))
    for line in body["lines"]:
        line.update(line_type="system", unit_amount=line["unit_amount"].lstrip("-"))


def _walk(data, call, tax_rate_id: str) -> int:
    """How many steps of CHAIN answered 2xx before one refused; a paid invoice's balance is checked."""
    customer = call(data, CHAIN[0])
    if customer.status_code != 201:
        return 0
    invoice = call(data, CHAIN[1], lambda body: _owing_invoice(body, customer.json()["id"], tax_rate_id))
    if invoice.status_code != 201:
        return 1
    invoice_id = invoice.json()["id"]
    issued = call(data, CHAIN[2], invoice_id=invoice_id)
    if issued.status_code != 200:
        return 2
    due = Decimal(issued.json()["amount_due"])

    def at_most_due(body: dict) -> None:
        # A generated amount over the balance is refused (the per-operation test covers that); pay it all.
        body["amount"] = str(min(Decimal(body["amount"]), due))
        # Received within 300 days of ISSUED_ON: on or after the issue day, and already past.
        body["received_on"] = _on_or_after_issue(body.get("received_on"), days=300)

    paid = call(data, CHAIN[3], at_most_due, invoice_id=invoice_id)
    if paid.status_code != 201:
        return 3
    total, amount = Decimal(issued.json()["total"]), Decimal(paid.json()["amount"])
    after = call(data, "GET /api/v1/invoices/{invoice_id}", invoice_id=invoice_id).json()
    assert Decimal(after["amount_due"]) == total - amount, (after, amount)
    return 4
