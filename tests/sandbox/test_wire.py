"""Unit tests of the sandbox's parsing: dates, booleans, numbers, bodies and the where language."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.sandbox.xero.where import WhereError, compile_where
from ledgerlink.sandbox.xero.wire import elements, ms_date, parse_bool, parse_date, parse_decimal, render


@pytest.mark.parametrize(
    "raw", ["/Date(1792886400000)/", "/Date(1792886400000+0000)/", "2026-10-25", "2026-10-25T00:00:00"]
)
def test_dates_in_every_form(raw: str) -> None:
    assert parse_date(raw) == "2026-10-25"
    assert ms_date("2026-10-25") == "/Date(1792886400000+0000)/"


def test_booleans_numbers_bodies() -> None:
    assert [parse_bool(v) for v in ("False", "false", "True", "TRUE", None)] == [
        False,
        False,
        True,
        True,
        False,
    ]
    assert parse_decimal("114318.00") == Decimal("114318.00")
    for bad in (True, None, "abc", "NaN"):
        with pytest.raises(ValueError):
            parse_decimal(bad)
    assert elements({"Payments": [{"a": 1}]}, "Payments") == [{"a": 1}]
    assert elements({"Amount": 1}, "Payments") == [{"Amount": 1}]
    assert render({"Date": "2026-10-25", "x": None, "_private": 1, "Amount": Decimal("4763.25")}) == {
        "Date": "/Date(1792886400000+0000)/",
        "DateString": "2026-10-25T00:00:00",
        "Amount": 4763.25,
    }


def test_where_language() -> None:
    contact = {
        "Name": "ACME Solar",
        "EmailAddress": "a@b.test",
        "Contact": {"ContactNumber": "CF-1"},
        "IsSupplier": False,
        "Date": "2026-03-01",
        "Total": Decimal("10.5"),
        "InvoiceID": "ab-cd",
    }
    truths = [
        'Name=="acme solar"',
        'EmailAddress=="a@b.test" AND Name!="Other"',
        'Contact.ContactNumber=="CF-1"',
        "IsSupplier==false",
        "Date>=DateTime(2026,01,01) && Total>10",
        'Name.Contains("solar") OR Name=="x"',
        'Name.StartsWith("AC")',
        'InvoiceId=guid("AB-CD")',
        'NOT (Name=="x")',
        'name.ToLower()=="acme solar"',
    ]
    for clause in truths:
        assert compile_where(clause)(contact), clause
    assert not compile_where('Name=="Other" OR Total<1')(contact)
    for bad in ("Name ~ 1", 'Name=="x" AND', "Name.Foo()", '"x"=="x"'):
        with pytest.raises(WhereError):
            compile_where(bad)(contact)


def test_where_string_escapes() -> None:
    entity = {"Name": 'Say "hi" \\ bye'}
    assert compile_where('Name=="Say \\"hi\\" \\\\ bye"')(entity)
