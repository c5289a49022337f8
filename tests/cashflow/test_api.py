"""The API contract over HTTP (Django's test client): auth, the lifecycle, idempotency, bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import ApiKey, Customer, DomainEvent, IdempotencyRecord, Invoice, Payment

from .helpers import ApiClient, invoice_body, make_invoice


def _locs(response) -> list[list]:
    return [error["loc"] for error in response.json()["detail"]]


# --- authentication -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer llk_nope_nope", "Basic abc", "Bearer " + "x" * 500]
)
def test_requests_without_a_valid_key_are_401(client, organisation, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/tax-rates", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_a_revoked_key_stops_working(client, organisation):
    api_key, raw = apikeys.create_api_key(organisation)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/tax-rates", headers=headers).status_code == 200
    apikeys.revoke_api_key(api_key)
    assert client.get("/api/v1/tax-rates", headers=headers).status_code == 401


def test_keys_are_stored_hashed_and_mark_their_use(client, organisation):
    api_key, raw = apikeys.create_api_key(organisation, "CashFlow production")
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw not in (stored.hashed_key, stored.prefix, stored.name) and len(stored.hashed_key) == 64
    assert stored.last_used_at is None
    client.get("/api/v1/tax-rates", headers={"Authorization": f"Bearer {raw}"})
    stored.refresh_from_db()
    assert stored.last_used_at is not None
    # A key with the right prefix but a wrong secret is refused.
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/tax-rates", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_the_openapi_document_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/invoices/{invoice_id}/payments" in spec["paths"]
    assert client.get("/api/v1/docs").status_code == 200


# --- the lifecycle --------------------------------------------------------------------------------------


def test_customer_round_trip_and_isolation(api_client, other_api_client):
    response = api_client.post(
        "/customers", {"name": "Grace Hopper", "email": "grace@example.com", "country": "au"}
    )
    assert response.status_code == 201
    customer = response.json()
    assert customer["country"] == "AU"
    assert api_client.get(f"/customers/{customer['id']}").json() == customer
    assert other_api_client.get(f"/customers/{customer['id']}").status_code == 404


def test_tax_rates_are_created_and_listed(api_client):
    created = api_client.post("/tax-rates", {"name": "GST 10%", "rate": "10"})
    assert created.status_code == 201
    assert created.json()["rate"] == "10.0000"
    assert [rate["name"] for rate in api_client.get("/tax-rates").json()] == ["GST 10%"]


def test_invoice_lifecycle_end_to_end(api_client, customer, gst):
    created = api_client.post("/invoices", invoice_body(customer, gst, reference="PO-7"))
    assert created.status_code == 201, created.json()
    draft = created.json()
    assert (draft["status"], draft["number"], draft["total"], draft["tax"]) == (
        "draft",
        None,
        "1100.00",
        "100.00",
    )
    invoice_id = draft["id"]

    issued = api_client.post(f"/invoices/{invoice_id}/issue")
    assert issued.status_code == 200
    assert (issued.json()["status"], issued.json()["number"]) == ("issued", "INV-00001")

    paid = api_client.post(f"/invoices/{invoice_id}/payments", {"amount": "600.00", "method": "card"})
    assert paid.status_code == 201
    payment_id = paid.json()["id"]
    cash = api_client.post(f"/invoices/{invoice_id}/payments", {"amount": "500.00", "method": "cash"}).json()
    assert api_client.get(f"/invoices/{invoice_id}").json()["status"] == "paid"

    refund = api_client.post(f"/payments/{payment_id}/refunds", {"amount": "100.00"})
    assert refund.status_code == 201
    assert refund.json()["payment"]["status"] == "partially_refunded"
    assert refund.json()["reversal"]["amount"] == "100.00"
    undo = api_client.post(f"/payments/{cash['id']}/undo")
    assert undo.status_code == 200 and undo.json()["payment"]["status"] == "undone"
    chargeback = api_client.post(f"/payments/{payment_id}/chargeback")
    assert chargeback.status_code == 200 and chargeback.json()["reversal"]["amount"] == "500.00"

    invoice = api_client.get(f"/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["amount_paid"], invoice["amount_due"]) == ("issued", "0.00", "1100.00")
    cancelled = api_client.post(f"/invoices/{invoice_id}/cancel")
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert [(n["number"], n["amount"]) for n in body["credit_notes"]] == [("CN-00001", "1100.00")]
    assert DomainEvent.objects.count() == 7


def test_listing_filters_and_pages(api_client, organisation, customer, gst):
    for _ in range(3):
        make_invoice(organisation, customer, gst)
    make_invoice(organisation, customer, gst, issue=False, issue_date=dt.date(2025, 1, 10))
    page = api_client.get("/invoices", status="issued", limit=2).json()
    assert (page["count"], len(page["items"]), page["limit"], page["offset"]) == (3, 2, 2, 0)
    rest = api_client.get("/invoices", status="issued", limit=2, offset=2).json()
    assert len(rest["items"]) == 1
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in rest["items"]})
    dated = api_client.get("/invoices", issued_from="2025-01-01", issued_to="2025-01-31").json()
    assert [i["status"] for i in dated["items"]] == ["draft"]
    assert api_client.get("/invoices", status="sent").status_code == 422
    assert api_client.get("/invoices", limit=0).status_code == 422


def test_another_organisations_ids_are_404(api_client, other_api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    payment = services.record_payment(invoice, Decimal("10"), "card")
    for path in (f"/invoices/{invoice.pk}", f"/payments/{payment.pk}", f"/customers/{customer.pk}"):
        assert other_api_client.get(path).status_code == 404
    for path, body in [
        (f"/invoices/{invoice.pk}/issue", None),
        (f"/invoices/{invoice.pk}/cancel", None),
        (f"/invoices/{invoice.pk}/payments", {"amount": "1.00", "method": "card"}),
        (f"/payments/{payment.pk}/refunds", {}),
        (f"/payments/{payment.pk}/chargeback", None),
    ]:
        assert other_api_client.post(path, body).status_code == 404
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid_minor) == ("part_paid", 1000)
    # Ids in a body are refused field by field, without saying whether they exist elsewhere.
    response = other_api_client.post("/invoices", invoice_body(customer, gst))
    assert response.status_code == 422
    assert _locs(response) == [["body", "customer_id"], ["body", "lines", 0, "tax_rate_id"]]


# --- idempotency ----------------------------------------------------------------------------------------


def test_a_repeated_key_replays_the_first_response(api_client, customer, gst):
    first = api_client.post("/invoices", invoice_body(customer, gst), key="create-1")
    again = api_client.post("/invoices", invoice_body(customer, gst), key="create-1")
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Invoice.objects.count() == 1


def test_a_repeated_payment_is_not_paid_twice(api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    path, body = f"/invoices/{invoice.pk}/payments", {"amount": "100.00", "method": "bank_transfer"}
    responses = [api_client.post(path, body, key="pay-1") for _ in range(3)]
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert Payment.objects.count() == 1
    assert DomainEvent.objects.filter(kind="payment.received").count() == 1


def test_the_same_key_with_another_body_is_409(api_client, customer, gst):
    api_client.post("/invoices", invoice_body(customer, gst), key="k")
    response = api_client.post("/invoices", invoice_body(customer, gst, reference="changed"), key="k")
    assert response.status_code == 409
    assert _locs(response) == [["header", "Idempotency-Key"]]
    other_path = api_client.post("/customers", {"name": "A", "email": "a@example.com"}, key="k")
    assert other_path.status_code == 409
    assert Invoice.objects.count() == 1 and not Customer.objects.filter(name="A").exists()


def test_key_order_and_spacing_do_not_change_the_fingerprint(api_client):
    body = '{"name": "GST 10%", "rate": "10"}'
    reordered = '{"rate":"10","name":"GST 10%"}'
    assert api_client.post("/tax-rates", raw=body, key="t").status_code == 201
    assert api_client.post("/tax-rates", raw=reordered, key="t").status_code == 201


def test_a_refusal_is_replayed_too(api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="50.00")
    path = f"/invoices/{invoice.pk}/payments"
    refused = api_client.post(path, {"amount": "60.00", "method": "card"}, key="p")
    assert refused.status_code == 422
    again = api_client.post(path, {"amount": "60.00", "method": "card"}, key="p")
    assert again.status_code == 422 and again.json() == refused.json()
    assert IdempotencyRecord.objects.get(key="p").status_code == 422


def test_keys_belong_to_one_organisation(api_client, other_api_client):
    body = {"name": "Rate", "rate": "5"}
    assert api_client.post("/tax-rates", body, key="shared").status_code == 201
    assert other_api_client.post("/tax-rates", body, key="shared").status_code == 201


def test_a_schema_error_does_not_burn_the_key(api_client):
    assert api_client.post("/tax-rates", {"name": "GST"}, key="fixme").status_code == 422
    assert api_client.post("/tax-rates", {"name": "GST", "rate": "10"}, key="fixme").status_code == 201


# --- bad input ------------------------------------------------------------------------------------------


BAD_INVOICES = [
    ("missing fields", lambda b: {k: v for k, v in b.items() if k not in ("due_date", "lines")}, 422),
    ("money as a JSON number", lambda b: _line(b, unit_amount=1100.0), 422),
    ("a unit amount past four places", lambda b: _line(b, unit_amount="10.00001"), 422),
    ("money as words", lambda b: _line(b, unit_amount="ten"), 422),
    ("unknown line type", lambda b: _line(b, line_type="solar"), 422),
    ("zero quantity", lambda b: _line(b, quantity="0"), 422),
    ("wrong type", lambda b: {**b, "tax_inclusive": "perhaps"}, 422),
    ("no lines", lambda b: {**b, "lines": []}, 422),
    ("currency not used", lambda b: {**b, "currency": "USD"}, 422),
    ("due before issue", lambda b: {**b, "issue_date": "2030-01-02", "due_date": "2030-01-01"}, 422),
    ("bad date", lambda b: {**b, "due_date": "2030-02-30"}, 422),
    ("not a uuid", lambda b: {**b, "customer_id": "42"}, 422),
    ("NUL in text", lambda b: _line(b, description="Solar\x00system"), 422),
    ("negative total", lambda b: _line(b, line_type="discount", unit_amount="-5.00"), 422),
    ("positive discount", lambda b: _line(b, line_type="discount", unit_amount="5.00"), 422),
]


def _line(body, **changes):
    return {**body, "lines": [{**body["lines"][0], **changes}]}


@pytest.mark.parametrize(("case", "mutate", "status"), BAD_INVOICES, ids=[case[0] for case in BAD_INVOICES])
def test_bad_invoices_get_field_level_errors_and_write_nothing(
    api_client, customer, gst, case, mutate, status
):
    response = api_client.post("/invoices", mutate(invoice_body(customer, gst)), key=f"bad-{case}")
    assert response.status_code == status, response.content
    for error in response.json()["detail"]:
        assert error["loc"][0] == "body" and error["msg"]
    assert not Invoice.objects.exists()


def test_a_body_that_is_not_json_is_a_field_level_422(api_client):
    response = api_client.post("/invoices", raw="{not json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert not Invoice.objects.exists()


def test_paying_more_than_is_due_is_refused(api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="100.00")
    response = api_client.post(f"/invoices/{invoice.pk}/payments", {"amount": "100.01", "method": "card"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "amount"]
    assert "100.00 AUD" in response.json()["detail"][0]["msg"]


def test_cancelling_a_paid_invoice_is_refused(api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst, amount="100.00")
    services.record_payment(invoice, Decimal("100.00"), "card")
    response = api_client.post(f"/invoices/{invoice.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["status"]
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_undoing_a_card_payment_is_refused(api_client, organisation, customer, gst):
    invoice = make_invoice(organisation, customer, gst)
    payment = services.record_payment(invoice, Decimal("10"), "card")
    response = api_client.post(f"/payments/{payment.pk}/undo")
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["method"]


def test_an_invalid_idempotency_key_is_422(client, organisation):
    _, raw = apikeys.create_api_key(organisation)
    response = ApiClient(client, raw).post("/tax-rates", {"name": "X", "rate": "1"}, key="k" * 256)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["header", "Idempotency-Key"]


def test_customers_are_found_by_email(api_client, other_api_client, customer):
    api_client.post("/customers", {"name": "Zed", "email": "zed@example.com"})
    found = api_client.get("/customers", email="ADA@example.com").json()
    assert [c["id"] for c in found["items"]] == [str(customer.pk)] and found["count"] == 1
    assert api_client.get("/customers").json()["count"] == 2
    assert other_api_client.get("/customers", email="ada@example.com").json()["count"] == 0


def test_an_authenticated_request_carries_its_organisation_and_key(client, organisation):
    """Billing's metering middleware reads these two attributes after the view ran."""
    api_key, raw = apikeys.create_api_key(organisation)
    response = client.get("/api/v1/tax-rates", headers={"Authorization": f"Bearer {raw}"})
    assert response.wsgi_request.ledgerlink_organisation == organisation
    assert response.wsgi_request.ledgerlink_api_key == api_key
    refused = client.get("/api/v1/tax-rates", headers={"Authorization": "Bearer llk_x_y"})
    assert not hasattr(refused.wsgi_request, "ledgerlink_organisation")


def test_a_price_per_watt_keeps_its_four_places_and_the_line_is_whole_cents(api_client, customer, gst):
    body = _line(invoice_body(customer, gst, tax_inclusive=False), quantity="6650", unit_amount="0.0333")
    created = api_client.post("/invoices", body)
    assert created.status_code == 201, created.json()
    (line,) = created.json()["lines"]
    # 6,650 W x 0.0333 = 221.445 -> 221.45 (half up); GST 10% on it 22.145 -> 22.15.
    assert (line["unit_amount"], line["line_amount"], line["tax"]) == ("0.0333", "221.45", "22.15")
    assert created.json()["total"] == "243.60"
