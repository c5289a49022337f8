"""Every operation the connector uses, each response validated against Xero's OpenAPI spec by the `xero`
fixture (contract.py), in every region."""

from __future__ import annotations

import pytest

from .conftest import Xero, connect


@pytest.fixture(params=["AU", "UK", "NZ", "US"])
def regional(request, sandbox, contract) -> Xero:
    return connect(sandbox, request.param, contract=contract)


def test_settings_reads(regional: Xero) -> None:
    org = regional.get("/Organisation").json()["Organisations"][0]
    accounts = regional.get("/Accounts").json()["Accounts"]
    rates = regional.get("/TaxRates").json()["TaxRates"]
    assert {a["Status"] for a in accounts} == {"ACTIVE", "ARCHIVED"}
    assert any(a["Type"] == "BANK" for a in accounts)
    assert any(a.get("EnablePaymentsToAccount") and a["Type"] != "BANK" for a in accounts)
    assert org["BaseCurrency"] in {"AUD", "GBP", "NZD", "USD"}
    sales = next(a for a in accounts if a["Code"] == "200")
    assert any(r["TaxType"] == sales["TaxType"] for r in rates)
    one = regional.get(f"/Accounts/{sales['AccountID']}").json()["Accounts"]
    assert one[0]["Code"] == "200"
    assert regional.get(f"/TaxRates/{rates[0]['TaxType']}").status_code == 200
    assert regional.get("/TrackingCategories").status_code == 200
    assert regional.get("/Items").json()["Items"]


def test_regional_rates_are_the_regions(regional: Xero) -> None:
    rates = {r["TaxType"]: r["EffectiveRate"] for r in regional.get("/TaxRates").json()["TaxRates"]}
    expected = {
        "AU": ("OUTPUT", 10.0),
        "UK": ("OUTPUT2", 20.0),
        "NZ": ("OUTPUT2", 15.0),
        "US": ("TAX001", 8.875),
    }
    org = regional.get("/Organisation").json()["Organisations"][0]
    tax_type, rate = expected[org["Version"]]
    assert rates[tax_type] == rate


def test_contacts_reads_and_writes(xero: Xero) -> None:
    created = xero.put(
        "/Contacts",
        {"Contacts": [{"Name": "Acme Solar", "EmailAddress": "ap@acme.test", "ContactNumber": "CF-9"}]},
    ).json()["Contacts"][0]
    updated = xero.post("/Contacts", {"Contacts": [{"ContactID": created["ContactID"], "FirstName": "Ada"}]})
    assert updated.json()["Contacts"][0]["FirstName"] == "Ada"
    for where in ('EmailAddress=="ap@acme.test"', 'Name=="Acme Solar"', 'ContactNumber=="CF-9"'):
        found = xero.get("/Contacts", params={"where": where}).json()["Contacts"]
        assert [c["ContactID"] for c in found] == [created["ContactID"]]
    assert xero.get(f"/Contacts/{created['ContactID']}").status_code == 200
    paged = xero.get("/Contacts", params={"page": 1, "pageSize": 5000}).json()
    assert paged["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": 1}
    refused = xero.put("/Contacts", {"Contacts": [{"Name": "Acme Solar"}]})
    assert refused.status_code == 400


def test_invoices_payments_credit_notes(xero: Xero) -> None:
    contact = xero.contact()
    line = {"Description": "Install", "Quantity": 1, "UnitAmount": 1000, "AccountCode": "200"}
    invoice = xero.invoice(contact["ContactID"], [line], Status="AUTHORISED", DueDate="2026-08-01")
    assert xero.get(f"/Invoices/{invoice['InvoiceID']}").status_code == 200
    assert xero.get("/Invoices", params={"page": 1}).json()["pagination"]["itemCount"] == 1
    payment = xero.put(
        "/Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 500}
            ]
        },
    ).json()["Payments"][0]
    assert xero.get("/Payments").json()["Payments"][0]["PaymentID"] == payment["PaymentID"]
    assert xero.get(f"/Payments/{payment['PaymentID']}").status_code == 200
    note = xero.put(
        "/CreditNotes",
        {
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "Status": "AUTHORISED",
                    "LineItems": [{**line, "UnitAmount": 100}],
                }
            ]
        },
    ).json()["CreditNotes"][0]
    allocation = xero.put(
        f"/CreditNotes/{note['CreditNoteID']}/Allocations",
        {
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 110, "Date": "2026-07-02"}
            ]
        },
    )
    assert allocation.status_code == 200, allocation.text
    assert xero.get("/CreditNotes").json()["CreditNotes"][0]["RemainingCredit"] == 0
    after = xero.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (after["AmountPaid"], after["AmountCredited"], after["AmountDue"]) == (500, 110, 490)
    deleted = xero.post(f"/Payments/{payment['PaymentID']}", {"Payments": [{"Status": "DELETED"}]})
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    bad_line = {**line, "AccountCode": "999"}
    bad_invoice = {"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "LineItems": [bad_line]}
    bad = xero.put("/Invoices", {"Invoices": [bad_invoice]})
    assert bad.status_code == 400
    assert bad.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Account code '999' is not a valid code for this document."
    )


def test_items_and_tracking_writes(xero: Xero) -> None:
    created = xero.put(
        "/Items", {"Items": [{"Code": "CABLE", "Name": "Cable", "SalesDetails": {"UnitPrice": 3.5}}]}
    )
    assert created.status_code == 200
    again = xero.put("/Items", {"Items": [{"Code": "CABLE"}]})
    assert again.status_code == 400
    assert again.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Price List Item with Code ''CABLE'' already exists"
    )
    tracking = xero.get("/TrackingCategories", params={"includeArchived": "True"}).json()[
        "TrackingCategories"
    ]
    assert {o["Status"] for o in tracking[0]["Options"]} == {"ACTIVE", "ARCHIVED"}


def test_every_status_family_was_checked(xero: Xero, contract) -> None:
    """The contract saw 200s and 400s across the suite (the spec's only modelled statuses)."""
    xero.get("/Organisation")
    xero.put("/Contacts", {"Contacts": [{}]})
    assert contract.checked.get(200) and contract.checked.get(400)
