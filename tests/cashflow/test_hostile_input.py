"""Input a hostile or careless client sends: every parse error is a field-level 422 in the API's JSON shape,
never a 500 or an HTML page; digits are ASCII only, as the published schema says."""

from __future__ import annotations

import json

import pytest

from .helpers import invoice_body

ARABIC_INDIC = "\u0661\u0660\u0660.\u0660\u0660"  # 100.00
FULLWIDTH = "\uff11\uff10\uff10.\uff10\uff10"
DEVANAGARI = "\u0967\u0966\u0966"


def field_errors(response) -> list[list]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize("amount", [ARABIC_INDIC, FULLWIDTH, DEVANAGARI, "1\u00a0000.00", "100.00\n"])
def test_money_takes_ascii_digits_only(api_client, customer, gst, amount):
    body = invoice_body(customer, gst)
    body["lines"][0]["unit_amount"] = amount
    assert ["body", "lines", 0, "unit_amount"] in field_errors(api_client.post("/invoices", body))


@pytest.mark.parametrize(
    "due",
    ["\u0662\u0660\u0662\u0667-\u0660\u0661-\u0660\u0661", "\uff12\uff10\uff12\uff17-01-01", "0000-01-01"],
)
def test_dates_take_ascii_digits_only(api_client, customer, gst, due):
    body = invoice_body(customer, gst, due_date=due)
    assert ["body", "due_date"] in field_errors(api_client.post("/invoices", body))


@pytest.mark.parametrize("issued_from", ["\u0662\u0660\u0662\u0667-01-01", "0000-01-01", "2027-02-30"])
def test_query_dates_are_field_errors(api_client, issued_from):
    assert ["query", "issued_from"] in field_errors(api_client.get("/invoices", issued_from=issued_from))


@pytest.mark.parametrize("limit", ["\u0665", "\uff15", "5e1", "9" * 40])
def test_query_numbers_take_ascii_digits_only(api_client, limit):
    assert ["query", "limit"] in field_errors(api_client.get("/invoices", limit=limit))


def test_the_published_schema_says_ascii_digits(client):
    schema = json.dumps(client.get("/api/v1/openapi.json").json())
    assert "\\\\d" not in schema and "[0-9]" in schema


@pytest.mark.parametrize(
    "raw", ["{", b"\xff\xfe{}", '{"lines": NaN}', "[" * 100_000, '{"a": 1} {"b": 2}', "\ufeff{}"]
)
def test_unparseable_bodies_are_json_422(api_client, raw):
    assert ["body"] in field_errors(api_client.post("/invoices", raw=raw))


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "1e999999"])
def test_json_of_the_wrong_shape_is_a_body_error(api_client, raw):
    assert all(loc[0] == "body" for loc in field_errors(api_client.post("/invoices", raw=raw)))


def test_a_ten_megabyte_body_gets_the_apis_json_error(api_client):
    response = api_client.post("/invoices", raw='{"reference": "' + "x" * (10 * 1024 * 1024) + '"}')
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("country", ["\u00c4\u00d6", "\u4e2d\u56fd", "A1"])
def test_country_codes_take_ascii_letters_only(api_client, country):
    body = {"name": "Ada", "email": "ada@example.com", "country": country}
    assert ["body", "country"] in field_errors(api_client.post("/customers", body))
