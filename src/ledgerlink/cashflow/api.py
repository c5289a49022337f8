"""CashFlow's JSON API v1 (django-ninja); OpenAPI at /api/v1/docs and /api/v1/openapi.json.

Thin by design: authenticate, parse, look the object up in the caller's organisation (404 otherwise), call
`services`, render. Every POST goes through `idempotency.respond`. See docs/cashflow-api.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Header, NinjaAPI, Query
from ninja.errors import HttpError
from ninja.errors import ValidationError as InputError
from ninja.security import HttpBearer

from ledgerlink.cashflow import apikeys, parsing, services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.idempotency import error_body, respond
from ledgerlink.cashflow.models import ApiKey, Customer, Invoice, Organisation, Payment, Project, TaxRate
from ledgerlink.cashflow.schemas import (
    ERROR_RESPONSES,
    READ_ERRORS,
    CustomerFilter,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    InvoiceFilter,
    InvoiceIn,
    InvoiceOut,
    InvoicePage,
    PageQuery,
    PaymentIn,
    PaymentOut,
    ProjectIn,
    ProjectOut,
    RefundIn,
    ReversalResult,
    TaxRateIn,
    TaxRateOut,
)


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer llk_...`. On success the request carries `ledgerlink_organisation` and
    `ledgerlink_api_key` (billing's metering middleware reads them)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = apikeys.authenticate(token)
        if api_key is not None:
            request.ledgerlink_api_key = api_key
            request.ledgerlink_organisation = api_key.organisation
        return api_key


api = NinjaAPI(
    title="LedgerLink API",
    version="1",
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    parser=parsing.StrictJsonParser(),
    description="CashFlow's records in LedgerLink. Money is a decimal string; every POST takes an "
    "Idempotency-Key. See docs/cashflow-api.md.",
)

IdempotencyKey = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    description="Repeat a POST safely: the same key returns the first response and changes nothing.",
)


@api.exception_handler(ValidationError)
def domain_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    return api.create_response(request, error_body(error), status=error.status)


def _input_error(error: dict[str, Any]) -> dict[str, Any]:
    """ninja's error without its internals: the body parameter's name dropped from `loc` (so schema errors
    and domain errors point at the same path) and pydantic's "Value error, " prefix removed."""
    loc = list(error["loc"])
    if loc[:2] == ["body", "body"]:
        del loc[1]
    return {"loc": loc, "msg": str(error["msg"]).removeprefix("Value error, "), "type": error["type"]}


@api.exception_handler(InputError)
def input_error(request: HttpRequest, error: InputError) -> HttpResponse:
    return api.create_response(request, {"detail": [_input_error(e) for e in error.errors]}, status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    """ninja's own 4xx, except a body that is not JSON: that is a field-level 422 like any other input."""
    if isinstance(error.__cause__, parsing.BodyNotJson):
        return api.create_response(request, parsing.not_json_error(), status=422)
    return api.create_response(request, {"detail": error.message}, status=error.status_code)


@api.exception_handler(RequestDataTooBig)
def too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    """Over DATA_UPLOAD_MAX_MEMORY_SIZE: the API's JSON, not Django's HTML 400 for a suspicious request."""
    return api.create_response(request, parsing.too_large_error(), status=413)


def _organisation(request: HttpRequest) -> Organisation:
    return request.ledgerlink_organisation


def _get(queryset: QuerySet | type[Model], request: HttpRequest, object_id: uuid.UUID) -> Any:
    """The object if it belongs to the caller's organisation; 404 otherwise (never a hint it exists)."""
    manager = queryset.objects if isinstance(queryset, type) else queryset
    found = manager.filter(organisation=_organisation(request), pk=object_id).first()
    if found is None:
        raise Http404
    return found


def _invoices() -> QuerySet[Invoice]:
    return Invoice.objects.prefetch_related(
        "lines", "credit_notes", Prefetch("payments", Payment.objects.prefetch_related("reversals"))
    )


def _invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut.from_orm(_invoices().get(pk=invoice.pk))


def _payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut.from_orm(Payment.objects.prefetch_related("reversals").get(pk=payment.pk))


def _page(queryset: QuerySet, query: PageQuery) -> dict[str, Any]:
    """One page of an ordered queryset, with the total count."""
    items = list(queryset[query.offset : query.offset + query.limit])
    return {"items": items, "count": queryset.count(), "limit": query.limit, "offset": query.offset}


@api.get("/health", auth=None, response={200: dict})
def health(request: HttpRequest) -> dict:
    return {"status": "ok"}


# --- tax rates ------------------------------------------------------------------------------------------


@api.get("/tax-rates", response={200: list[TaxRateOut], **READ_ERRORS}, tags=["tax rates"])
def list_tax_rates(request: HttpRequest) -> QuerySet[TaxRate]:
    """The organisation's CashFlow tax rates, active and inactive."""
    return TaxRate.objects.filter(organisation=_organisation(request))


@api.post("/tax-rates", response={201: TaxRateOut, **ERROR_RESPONSES}, tags=["tax rates"])
def create_tax_rate(request: HttpRequest, body: TaxRateIn, idempotency_key: str | None = IdempotencyKey):
    """A CashFlow tax rate, e.g. {"name": "GST 10%", "rate": "10"}: the key the ledger mapping hangs on."""

    def work() -> tuple[int, TaxRateOut]:
        rate = services.create_tax_rate(_organisation(request), body.name, body.rate, active=body.active)
        return 201, TaxRateOut.from_orm(rate)

    return respond(request, idempotency_key, work)


# --- customers and projects -----------------------------------------------------------------------------


@api.post("/customers", response={201: CustomerOut, **ERROR_RESPONSES}, tags=["customers"])
def create_customer(request: HttpRequest, body: CustomerIn, idempotency_key: str | None = IdempotencyKey):
    """A customer; ledgers match contacts by email."""

    def work() -> tuple[int, CustomerOut]:
        customer = services.create_customer(_organisation(request), services.CustomerInput(**body.dict()))
        return 201, CustomerOut.from_orm(customer)

    return respond(request, idempotency_key, work)


@api.get("/customers", response={200: CustomerPage, **READ_ERRORS}, tags=["customers"])
def list_customers(request: HttpRequest, filters: Query[CustomerFilter]) -> dict:
    """Customers by name; `email` finds the one CashFlow already sent before creating another."""
    customers = Customer.objects.filter(organisation=_organisation(request))
    if filters.email:
        customers = customers.filter(email__iexact=filters.email)
    return _page(customers.order_by("name", "id"), filters)


@api.get("/customers/{customer_id}", response={200: CustomerOut, **READ_ERRORS}, tags=["customers"])
def get_customer(request: HttpRequest, customer_id: uuid.UUID) -> Customer:
    return _get(Customer, request, customer_id)


@api.post("/projects", response={201: ProjectOut, **ERROR_RESPONSES}, tags=["projects"])
def create_project(request: HttpRequest, body: ProjectIn, idempotency_key: str | None = IdempotencyKey):
    """A solar installation for a customer; milestone invoices name one."""

    def work() -> tuple[int, ProjectOut]:
        project = services.create_project(
            _organisation(request),
            body.customer_id,
            body.name,
            site_address=body.site_address,
            system_size_kw=body.system_size_kw,
        )
        return 201, ProjectOut.from_orm(project)

    return respond(request, idempotency_key, work)


@api.get("/projects/{project_id}", response={200: ProjectOut, **READ_ERRORS}, tags=["projects"])
def get_project(request: HttpRequest, project_id: uuid.UUID) -> Project:
    return _get(Project, request, project_id)


# --- invoices -------------------------------------------------------------------------------------------


@api.post("/invoices", response={201: InvoiceOut, **ERROR_RESPONSES}, tags=["invoices"])
def create_invoice(request: HttpRequest, body: InvoiceIn, idempotency_key: str | None = IdempotencyKey):
    """A draft invoice with its lines; totals are computed here (tax per line, rounded half up)."""

    def work() -> tuple[int, InvoiceOut]:
        data = body.dict()
        lines = tuple(services.LineInput(**line) for line in data.pop("lines"))
        invoice = services.create_invoice(_organisation(request), services.InvoiceInput(lines=lines, **data))
        return 201, _invoice_out(invoice)

    return respond(request, idempotency_key, work)


@api.get("/invoices", response={200: InvoicePage, **READ_ERRORS}, tags=["invoices"])
def list_invoices(request: HttpRequest, filters: Query[InvoiceFilter]) -> dict:
    """Invoices, newest first, filtered by status, customer, issue and due dates; `limit`/`offset` pages."""
    invoices = _invoices().filter(organisation=_organisation(request))
    conditions = {
        "status": filters.status,
        "customer_id": filters.customer_id,
        "issue_date__gte": filters.issued_from,
        "issue_date__lte": filters.issued_to,
        "due_date__gte": filters.due_from,
        "due_date__lte": filters.due_to,
    }
    invoices = invoices.filter(**{name: value for name, value in conditions.items() if value is not None})
    return _page(invoices.order_by("-created_at", "-id"), filters)


@api.get("/invoices/{invoice_id}", response={200: InvoiceOut, **READ_ERRORS}, tags=["invoices"])
def get_invoice(request: HttpRequest, invoice_id: uuid.UUID) -> Invoice:
    return _get(_invoices(), request, invoice_id)


@api.post("/invoices/{invoice_id}/issue", response={200: InvoiceOut, **ERROR_RESPONSES}, tags=["invoices"])
def issue_invoice(request: HttpRequest, invoice_id: uuid.UUID, idempotency_key: str | None = IdempotencyKey):
    """Send a draft: it gets its number (INV-00001...) and its issue date, and is synced to the ledger."""

    def work() -> tuple[int, InvoiceOut]:
        invoice = services.issue_invoice(_get(Invoice, request, invoice_id))
        return 200, _invoice_out(invoice)

    return respond(request, idempotency_key, work)


@api.post("/invoices/{invoice_id}/cancel", response={200: InvoiceOut, **ERROR_RESPONSES}, tags=["invoices"])
def cancel_invoice(request: HttpRequest, invoice_id: uuid.UUID, idempotency_key: str | None = IdempotencyKey):
    """Cancel: a credit note covers the unpaid balance. A fully paid invoice is refused (409)."""

    def work() -> tuple[int, InvoiceOut]:
        invoice = _get(Invoice, request, invoice_id)
        services.cancel_invoice(invoice)
        return 200, _invoice_out(invoice)

    return respond(request, idempotency_key, work)


# --- payments -------------------------------------------------------------------------------------------


@api.post("/invoices/{invoice_id}/payments", response={201: PaymentOut, **ERROR_RESPONSES}, tags=["payments"])
def record_payment(
    request: HttpRequest, invoice_id: uuid.UUID, body: PaymentIn, idempotency_key: str | None = IdempotencyKey
):
    """Money received against an issued invoice; more than is due is refused."""

    def work() -> tuple[int, PaymentOut]:
        invoice = _get(Invoice, request, invoice_id)
        payment = services.record_payment(
            invoice, body.amount, body.method, received_on=body.received_on, reference=body.reference
        )
        return 201, _payment_out(payment)

    return respond(request, idempotency_key, work)


@api.get("/payments/{payment_id}", response={200: PaymentOut, **READ_ERRORS}, tags=["payments"])
def get_payment(request: HttpRequest, payment_id: uuid.UUID) -> Payment:
    return _get(Payment.objects.prefetch_related("reversals"), request, payment_id)


def _reversal_result(reversal: Any) -> ReversalResult:
    return ReversalResult(reversal=reversal, payment=_payment_out(reversal.payment))


@api.post(
    "/payments/{payment_id}/refunds", response={201: ReversalResult, **ERROR_RESPONSES}, tags=["payments"]
)
def refund_payment(
    request: HttpRequest, payment_id: uuid.UUID, body: RefundIn, idempotency_key: str | None = IdempotencyKey
):
    """Refund part of a payment, or all that is left when `amount` is omitted."""

    def work() -> tuple[int, ReversalResult]:
        payment = _get(Payment, request, payment_id)
        reversal = services.refund_payment(payment, body.amount, reference=body.reference)
        return 201, _reversal_result(reversal)

    return respond(request, idempotency_key, work)


@api.post(
    "/payments/{payment_id}/chargeback", response={200: ReversalResult, **ERROR_RESPONSES}, tags=["payments"]
)
def charge_back(request: HttpRequest, payment_id: uuid.UUID, idempotency_key: str | None = IdempotencyKey):
    """The card issuer or bank took the payment back (not for cash or cheque)."""

    def work() -> tuple[int, ReversalResult]:
        return 200, _reversal_result(services.charge_back(_get(Payment, request, payment_id)))

    return respond(request, idempotency_key, work)


@api.post("/payments/{payment_id}/undo", response={200: ReversalResult, **ERROR_RESPONSES}, tags=["payments"])
def undo_offline_payment(
    request: HttpRequest, payment_id: uuid.UUID, idempotency_key: str | None = IdempotencyKey
):
    """Remove a cash or cheque payment recorded by mistake (other methods are refunded instead)."""

    def work() -> tuple[int, ReversalResult]:
        return 200, _reversal_result(services.undo_offline_payment(_get(Payment, request, payment_id)))

    return respond(request, idempotency_key, work)
