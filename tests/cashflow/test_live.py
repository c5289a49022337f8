"""Over a real socket (pytest-django's live_server + requests), and under real concurrency.

The concurrency tests need a database with real row locks and concurrent connections: PostgreSQL. (The
embedded SQLite mode serialises writers with IMMEDIATE transactions; its in-memory test database cannot
host concurrent connections.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connections

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.models import DomainEvent, IdempotencyRecord, Invoice, Payment

from .helpers import invoice_body, make_invoice

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="concurrent row locks need PostgreSQL")


def _at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; each result or exception, in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def live(live_server, organisation, customer, gst):
    _, key = apikeys.create_api_key(organisation)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return live_server.url + "/api/v1", session


def test_the_contract_end_to_end_over_http(live, customer, gst):
    base, session = live
    draft = session.post(
        f"{base}/invoices", json=invoice_body(customer, gst), headers={"Idempotency-Key": "i1"}
    )
    assert draft.status_code == 201, draft.text
    invoice_id = draft.json()["id"]
    replay = session.post(
        f"{base}/invoices", json=invoice_body(customer, gst), headers={"Idempotency-Key": "i1"}
    )
    assert replay.json()["id"] == invoice_id and replay.headers["Idempotent-Replayed"] == "true"
    assert session.post(f"{base}/invoices/{invoice_id}/issue").json()["number"] == "INV-00001"
    payment = session.post(
        f"{base}/invoices/{invoice_id}/payments", json={"amount": "1100.00", "method": "cash"}
    )
    assert payment.status_code == 201
    refused = session.post(f"{base}/invoices/{invoice_id}/cancel")
    assert refused.status_code == 409 and refused.json()["detail"][0]["loc"] == ["status"]
    undo = session.post(f"{base}/payments/{payment.json()['id']}/undo")
    assert undo.json()["payment"]["status"] == "undone"
    cancelled = session.post(f"{base}/invoices/{invoice_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["credit_notes"][0]["amount"] == "1100.00"
    listing = session.get(f"{base}/invoices", params={"status": "cancelled"}).json()
    assert [item["id"] for item in listing["items"]] == [invoice_id]
    assert requests.get(f"{base}/invoices/{invoice_id}").status_code == 401
    assert requests.get(f"{base}/openapi.json").json()["info"]["title"] == "LedgerLink API"


@needs_postgres
def test_concurrent_duplicates_with_one_key_make_one_payment(live, organisation, customer, gst):
    base, session = live
    invoice = make_invoice(organisation, customer, gst, amount="1000.00")
    url = f"{base}/invoices/{invoice.pk}/payments"

    def pay(_: int) -> requests.Response:
        return session.post(
            url, json={"amount": "400.00", "method": "card"}, headers={"Idempotency-Key": "dup"}
        )

    responses = _at_once(4, pay)
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert IdempotencyRecord.objects.filter(key="dup").count() == 1
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == Decimal("400.00")


@needs_postgres
def test_two_payments_at_once_never_overpay(live, organisation, customer, gst):
    base, session = live
    for attempt in range(3):
        invoice = make_invoice(organisation, customer, gst, amount="1000.00")
        url = f"{base}/invoices/{invoice.pk}/payments"

        def pay(index: int, url=url, attempt=attempt) -> requests.Response:
            body = {"amount": "600.00", "method": "bank_transfer"}
            return session.post(url, json=body, headers={"Idempotency-Key": f"p{attempt}-{index}"})

        statuses = sorted(r.status_code for r in _at_once(2, pay))
        assert statuses == [201, 422]
        invoice.refresh_from_db()
        assert (invoice.amount_paid, invoice.status) == (Decimal("600.00"), "part_paid")
        assert (
            DomainEvent.objects.filter(kind="payment.received", payload__invoice_id=str(invoice.pk)).count()
            == 1
        )


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_issuing_at_once_allocates_each_number_once(organisation, customer, gst):
    drafts = [make_invoice(organisation, customer, gst, issue=False) for _ in range(6)]
    same = _at_once(2, lambda _: services.issue_invoice(drafts[0]))
    assert sorted(type(result).__name__ for result in same) == ["ConflictError", "Invoice"]
    others = _at_once(5, lambda i: services.issue_invoice(drafts[i + 1]).number)
    assert sorted(others) == [f"INV-{n:05d}" for n in range(2, 7)]
    assert DomainEvent.objects.filter(kind="invoice.issued").count() == 6


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_refund_and_payment_at_once_keep_the_books_straight(organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="1000.00")
    payment = services.record_payment(invoice, Decimal("1000.00"), "card")

    def act(index: int):
        if index == 0:
            return services.refund_payment(payment, Decimal("300.00"))
        return services.refund_payment(payment, Decimal("800.00"))

    results = _at_once(2, act)
    assert sum(isinstance(result, ValidationError) for result in results) == 1
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.amount_paid_minor == payment.remaining_minor
    assert invoice.amount_paid_minor in (70000, 20000)
