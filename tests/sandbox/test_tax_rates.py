"""PUT/POST /TaxRates and the US seed's state rates (xero.md §3 "TaxRates"; docs/sandbox.md), over HTTP with
every response checked against the official spec."""

from __future__ import annotations

import pytest

from .conftest import LINE_ITEM as LINE
from .conftest import Xero, connect

BAD_RATE = (
    "The rate of tax component 'State Tax' must be a number from 0 to 100 with at most 4 decimal places."
)


@pytest.fixture
def us(sandbox, contract) -> Xero:
    return connect(sandbox, "US", contract=contract)


def _rate(name: str, *components: tuple[str, float], **fields) -> dict:
    return {"Name": name, "TaxComponents": [{"Name": n, "Rate": r} for n, r in components], **fields}


def _errors(response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    return [m["Message"] for element in body["Elements"] for m in element["ValidationErrors"]]


def _names(xero: Xero) -> list[str]:
    return [r["Name"] for r in xero.get("/TaxRates").json()["TaxRates"]]


def test_us_seed_carries_state_rates_usable_on_sales(us: Xero) -> None:
    rates = {r["Name"]: r for r in us.get("/TaxRates").json()["TaxRates"]}
    state = {
        "Texas Sales Tax": 8.25,
        "Minnesota Sales Tax": 7.375,
        "Massachusetts Sales Tax": 6.25,
        "Oregon Sales Tax": 0.0,
    }
    assert {name: rates[name]["EffectiveRate"] for name in state} == state
    assert all(rates[name]["Status"] == "ACTIVE" and rates[name]["CanApplyToRevenue"] for name in state)
    assert [c["Rate"] for c in rates["Texas Sales Tax"]["TaxComponents"]] == [6.25, 2.0]


def test_put_creates_a_us_rate_with_the_next_code(us: Xero) -> None:
    response = us.put(
        "/TaxRates", {"TaxRates": [_rate("Austin Sales Tax", ("State Tax", 6.25), ("City Tax", 2))]}
    )
    assert response.status_code == 200, response.text
    created = response.json()["TaxRates"][0]
    assert (created["TaxType"], created["Status"]) == ("TAX007", "ACTIVE")
    assert (created["DisplayTaxRate"], created["EffectiveRate"]) == (8.25, 8.25)
    assert "ReportTaxType" not in created  # US organisations have no report tax types
    assert created["CanApplyToRevenue"] and created["CanApplyToExpenses"]
    assert us.get("/TaxRates/tax007").json()["TaxRates"] == [created]
    second = us.put("/TaxRates", _rate("Dallas Sales Tax", ("State Tax", 6.25), ReportTaxType="OUTPUT"))
    assert second.json()["TaxRates"][0]["TaxType"] == "TAX008"  # a bare object; ReportTaxType ignored


def test_the_new_rate_taxes_invoice_lines(us: Xero) -> None:
    rate = us.put("/TaxRates", _rate("Austin Sales Tax", ("State Tax", 6.25), ("City Tax", 2))).json()
    quebec = us.put(
        "/TaxRates",
        {
            "Name": "GST+QST",
            "TaxComponents": [{"Name": "GST", "Rate": 5}, {"Name": "QST", "Rate": 9.975, "IsCompound": True}],
        },
    ).json()["TaxRates"][0]
    assert (quebec["DisplayTaxRate"], quebec["EffectiveRate"]) == (14.975, 15.4738)
    contact = us.contact()
    lines = [
        {**LINE, "UnitAmount": 1000, "TaxType": rate["TaxRates"][0]["TaxType"]},
        {**LINE, "TaxType": quebec["TaxType"]},
    ]
    invoice = us.invoice(contact["ContactID"], lines)
    assert [line["TaxAmount"] for line in invoice["LineItems"]] == [82.5, 15.47]
    assert (invoice["TotalTax"], invoice["Total"]) == (97.97, 1197.97)


def test_names_are_required_and_unique(us: Xero) -> None:
    assert _errors(us.put("/TaxRates", {"TaxComponents": [{"Name": "State Tax", "Rate": 1}]})) == [
        "The tax rate must have a Name."
    ]
    assert _errors(us.put("/TaxRates", _rate("texas SALES tax", ("State Tax", 6.25)))) == [
        "The tax rate name 'texas SALES tax' is already in use. Tax rate names must be unique."
    ]
    assert _names(us).count("Texas Sales Tax") == 1


@pytest.mark.parametrize(
    ("components", "message"),
    [
        (None, "A tax rate must have at least one tax component."),
        ([], "A tax rate must have at least one tax component."),
        ([{"Rate": 2}], "Each tax component must have a Name."),
        (
            [{"Name": "State Tax", "Rate": 100.5}],
            BAD_RATE,
        ),
        (
            [{"Name": "State Tax", "Rate": 1.23456}],
            BAD_RATE,
        ),
        (
            [{"Name": "State Tax"}],
            BAD_RATE,
        ),
    ],
)
def test_components_need_a_name_and_a_rate(us: Xero, components, message) -> None:
    body = {"Name": "Broken Tax"} | ({} if components is None else {"TaxComponents": components})
    assert _errors(us.put("/TaxRates", body)) == [message]
    assert "Broken Tax" not in _names(us)


def test_au_and_uk_rates_need_their_regions_report_tax_type(sandbox, contract) -> None:
    au = connect(sandbox, "AU", contract=contract)
    assert _errors(au.put("/TaxRates", _rate("Levy", ("Levy", 2)))) == [
        "A ReportTaxType is required for tax rates in this organisation."
    ]
    assert _errors(au.put("/TaxRates", _rate("Levy", ("Levy", 2), ReportTaxType="ECOUTPUT"))) == [
        "The ReportTaxType 'ECOUTPUT' cannot be used in this organisation."
    ]
    purchases = au.put("/TaxRates", _rate("Levy", ("Levy", 2), ReportTaxType="INPUT")).json()["TaxRates"][0]
    assert (purchases["TaxType"], purchases["ReportTaxType"]) == ("TAX001", "INPUT")
    assert (purchases["CanApplyToRevenue"], purchases["CanApplyToExpenses"]) == (False, True)
    uk = connect(sandbox, "UK", contract=contract)
    sales = uk.put("/TaxRates", _rate("EC Goods", ("VAT", 0), ReportTaxType="ECOUTPUT")).json()["TaxRates"]
    assert (sales[0]["CanApplyToRevenue"], sales[0]["CanApplyToExpenses"]) == (True, False)


def test_one_rate_per_request(us: Xero) -> None:
    response = us.put(
        "/TaxRates", {"TaxRates": [_rate("First Tax", ("A", 1)), _rate("Second Tax", ("B", 2))]}
    )
    assert [r["Name"] for r in response.json()["TaxRates"]] == ["First Tax"]
    assert "Second Tax" not in _names(us)


def test_post_updates_by_tax_type_or_name_and_deletes(us: Xero) -> None:
    created = us.put("/TaxRates", _rate("Austin Sales Tax", ("State Tax", 6.25))).json()["TaxRates"][0]
    raised = us.post(
        "/TaxRates", {"TaxType": created["TaxType"], "TaxComponents": [{"Name": "State Tax", "Rate": 6.5}]}
    ).json()["TaxRates"][0]
    assert (raised["TaxType"], raised["Name"], raised["EffectiveRate"]) == (
        created["TaxType"],
        created["Name"],
        6.5,
    )
    deleted = us.post("/TaxRates", {"Name": "austin sales tax", "Status": "DELETED"}).json()["TaxRates"][0]
    assert (deleted["TaxType"], deleted["Status"]) == (created["TaxType"], "DELETED")
    contact = us.contact()
    refused = us.put(
        "/Invoices",
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "LineItems": [{**LINE, "TaxType": created["TaxType"]}],
        },
    )
    assert _errors(refused) == [
        f"The TaxType code {created['TaxType']} does not exist or cannot be used for this type of "
        "transaction."
    ]
    again = us.put("/TaxRates", _rate("Austin Sales Tax", ("State Tax", 6.25))).json()["TaxRates"][0]
    assert again["TaxType"] != created["TaxType"]  # a deleted rate's name is free again, its code is not


def test_post_creates_when_nothing_matches_and_refuses_xeros_own_rates(us: Xero) -> None:
    created = us.post("/TaxRates", _rate("Reno Sales Tax", ("State Tax", 8.265)))
    assert created.json()["TaxRates"][0]["EffectiveRate"] == 8.265
    assert _errors(us.post("/TaxRates", {"TaxType": "OUTPUT", "Status": "DELETED"})) == [
        "The system tax rate 'OUTPUT' cannot be changed."
    ]
    assert _errors(us.post("/TaxRates", _rate("Ghost", ("A", 1), TaxType="TAX999"))) == [
        "The tax rate with TaxType 'TAX999' could not be found."
    ]
    assert _errors(us.post("/TaxRates", {"TaxType": "TAX003", "Status": "PENDING"})) == [
        "Status must be ACTIVE, ARCHIVED or DELETED."
    ]


def test_writing_tax_rates_needs_the_settings_scope(sandbox, contract) -> None:
    read_only = connect(
        sandbox, "US", scope="openid offline_access accounting.settings.read", contract=contract
    )
    assert read_only.get("/TaxRates").status_code == 200
    assert read_only.put("/TaxRates", _rate("Austin Sales Tax", ("State Tax", 6.25))).status_code == 401
