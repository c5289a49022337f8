"""Xero's business rules as the sandbox enforces them (xero.md §3, §6, §10 items 9-15)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import pytest

from .conftest import LINE_ITEM as LINE
from .conftest import Xero, connect


def _errors(response) -> list[str]:
    body = response.json()
    elements = body.get("Elements") or body.get("Invoices") or body.get("Payments") or body.get("Contacts")
    return [m["Message"] for e in elements for m in e.get("ValidationErrors", [])]


def _invoice(xero: Xero, contact_id: str, **fields) -> dict:
    return {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "LineItems": [LINE], **fields}


def _pay(xero: Xero, invoice_id: str, amount, account: str = "090"):
    payment = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": account}, "Amount": amount}
    return xero.put("/Payments", {"Payments": [{**payment, "Date": "2026-07-01"}]})


# -- batches --------------------------------------------------------------------------------------------
def test_summarize_errors_false_reports_per_element(xero: Xero) -> None:
    contact = xero.contact()
    bad = _invoice(xero, contact["ContactID"], LineItems=[{**LINE, "AccountCode": "999"}])
    response = xero.put(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"]), bad]},
        params={"summarizeErrors": "False"},
    )
    assert response.status_code == 200
    rows = response.json()["Invoices"]
    assert [r["StatusAttributeString"] for r in rows] == ["OK", "ERROR"]
    assert (
        rows[1]["ValidationErrors"][0]["Message"]
        == "Account code '999' is not a valid code for this document."
    )
    assert rows[1]["LineItems"][0]["ValidationErrors"][0]["Message"].startswith("Account code '999'")
    assert len(xero.sandbox.control.ledger(xero.tenant_id)["Invoices"]) == 1


def test_without_summarize_errors_400_but_valid_elements_saved(xero: Xero) -> None:
    contact = xero.contact()
    bad = _invoice(xero, contact["ContactID"], LineItems=[{**LINE, "Quantity": -1}])
    response = xero.put("/Invoices", {"Invoices": [_invoice(xero, contact["ContactID"]), bad]})
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    assert _errors(response) == ["Quantity must not be less than zero."]
    assert len(xero.sandbox.control.ledger(xero.tenant_id)["Invoices"]) == 1  # not transactional


# -- invoices -------------------------------------------------------------------------------------------
def test_put_is_create_only_post_upserts(xero: Xero) -> None:
    contact = xero.contact()
    created = xero.invoice(contact["ContactID"], [LINE], InvoiceNumber="CF-7")
    again = xero.put("/Invoices", {"Invoices": [_invoice(xero, contact["ContactID"], InvoiceNumber="CF-7")]})
    assert _errors(again) == ["Invoice # must be unique."]
    upsert = xero.post(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"], InvoiceNumber="CF-7", Reference="R-2")]},
    )
    assert upsert.json()["Invoices"][0]["InvoiceID"] == created["InvoiceID"]
    by_number = xero.post("/Invoices/CF-7", {"Reference": "R-3"})
    assert by_number.json()["Invoices"][0]["Reference"] == "R-3"
    bare = xero.post("/Invoices", {"InvoiceID": created["InvoiceID"], "Reference": "R-4"})
    assert bare.json()["Invoices"][0]["Reference"] == "R-4"
    assert xero.get("/Invoices/CF-404").status_code == 404
    auto = xero.invoice(contact["ContactID"], [LINE])
    assert auto["InvoiceNumber"].startswith("INV-")


def test_status_transitions_and_void(xero: Xero) -> None:
    contact = xero.contact()
    draft = xero.invoice(contact["ContactID"], [LINE])
    assert draft["Status"] == "DRAFT"
    submitted = xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "SUBMITTED"}).json()["Invoices"][0]
    authorised = xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "AUTHORISED"}).json()["Invoices"][0]
    assert (submitted["Status"], authorised["Status"]) == ("SUBMITTED", "AUTHORISED")
    back = xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "DRAFT"})
    assert _errors(back) == ["Invoice not of valid status for modification"]
    delete = xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "DELETED"})
    assert _errors(delete) == ["Invoice not of valid status for modification"]
    voided = xero.post(f"/Invoices/{draft['InvoiceID']}", {"Status": "VOIDED"}).json()["Invoices"][0]
    assert voided["Status"] == "VOIDED"
    other = xero.invoice(contact["ContactID"], [LINE])
    assert xero.post(f"/Invoices/{other['InvoiceID']}", {"Status": "DELETED"}).json()["Invoices"][0][
        "Status"
    ] == ("DELETED")
    paid = xero.invoice(contact["ContactID"], [LINE], Status="AUTHORISED")
    _pay(xero, paid["InvoiceID"], 10)
    refused = xero.post(f"/Invoices/{paid['InvoiceID']}", {"Status": "VOIDED"})
    assert _errors(refused) == [
        "This document cannot be edited as it has a payment or credit note allocated to it."
    ]


def test_edit_rules_once_paid(xero: Xero) -> None:
    contact = xero.contact()
    invoice = xero.invoice(contact["ContactID"], [LINE], Status="AUTHORISED")
    _pay(xero, invoice["InvoiceID"], 50)
    line_id = invoice["LineItems"][0]["LineItemID"]
    ok = xero.post(
        f"/Invoices/{invoice['InvoiceID']}",
        {"Reference": "new", "LineItems": [{**LINE, "LineItemID": line_id, "Description": "Renamed"}]},
    )
    assert ok.status_code == 200, ok.text
    money = xero.post(
        f"/Invoices/{invoice['InvoiceID']}",
        {"LineItems": [{**LINE, "LineItemID": line_id, "UnitAmount": 200}]},
    )
    assert _errors(money) == [
        "This document cannot be edited as it has a payment or credit note allocated to it."
    ]


def test_line_upsert_delete_semantics(xero: Xero) -> None:
    contact = xero.contact()
    invoice = xero.invoice(contact["ContactID"], [LINE, {**LINE, "Description": "Second"}])
    first_id = invoice["LineItems"][0]["LineItemID"]
    updated = xero.post(
        f"/Invoices/{invoice['InvoiceID']}",
        {"LineItems": [{**LINE, "LineItemID": first_id, "Quantity": 2}, {**LINE, "Description": "New"}]},
    )
    lines = updated.json()["Invoices"][0]["LineItems"]
    assert lines[0]["LineItemID"] == first_id and lines[0]["Quantity"] == 2
    assert lines[1]["Description"] == "New" and len(lines) == 2


@pytest.mark.parametrize(
    ("amount_types", "unit", "tax", "total"),
    [("Exclusive", 100, 10, 110), ("Inclusive", 110, 10, 110), ("NoTax", 100, 0, 100)],
)
def test_line_amount_types(xero: Xero, amount_types, unit, tax, total) -> None:
    contact = xero.contact()
    invoice = xero.invoice(contact["ContactID"], [{**LINE, "UnitAmount": unit}], LineAmountTypes=amount_types)
    assert (invoice["TotalTax"], invoice["Total"]) == (tax, total)


def test_per_line_tax_rounding_is_half_even_by_default(xero: Xero) -> None:
    contact = xero.contact()
    # 10% of 0.25 is 0.025 per line: half-even rounds to 0.02 on each line, half-up would give 0.03.
    lines = [{**LINE, "UnitAmount": 0.25} for _ in range(3)]
    invoice = xero.invoice(contact["ContactID"], lines)
    assert [line["TaxAmount"] for line in invoice["LineItems"]] == [0.02, 0.02, 0.02]
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (0.75, 0.06, 0.81)


def test_half_up_rounding_is_a_tenant_setting(sandbox, contract) -> None:
    xero = connect(sandbox, contract=contract, settings={"tax_rounding": "ROUND_HALF_UP"})
    invoice = xero.invoice(xero.contact()["ContactID"], [{**LINE, "UnitAmount": 0.25}])
    assert invoice["TotalTax"] == 0.03


def test_tax_amount_override_within_a_cent(xero: Xero) -> None:
    contact = xero.contact()
    accepted = xero.invoice(contact["ContactID"], [{**LINE, "UnitAmount": 0.25, "TaxAmount": 0.03}])
    assert (accepted["TotalTax"], accepted["Total"]) == (0.03, 0.28)
    refused = xero.put(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"], LineItems=[{**LINE, "TaxAmount": 12}])]},
    )
    assert _errors(refused) == [
        "The tax amount 12.00 differs from the calculated tax 10.00 by more than 0.01."
    ]


def test_negative_lines_discounts_and_line_total_mismatch(xero: Xero) -> None:
    contact = xero.contact()
    invoice = xero.invoice(contact["ContactID"], [{**LINE, "UnitAmount": 200}, {**LINE, "UnitAmount": -79}])
    assert (invoice["SubTotal"], invoice["TotalTax"]) == (121, 12.1)
    discounted = xero.invoice(contact["ContactID"], [{**LINE, "DiscountRate": 10}])
    assert discounted["LineItems"][0]["LineAmount"] == 90
    mismatch = xero.put(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"], LineItems=[{**LINE, "LineAmount": 1}])]},
    )
    assert _errors(mismatch) == ["The line total 1.00 does not match the expected line total 100.00"]
    bill = {
        "Type": "ACCPAY",
        "Contact": {"ContactID": contact["ContactID"]},
        "LineItems": [{**LINE, "AccountCode": "429", "DiscountRate": 5}],
    }
    assert _errors(xero.put("/Invoices", {"Invoices": [bill]})) == [
        "Discounts are only allowed on sales invoices."
    ]


def test_accounts_and_tax_validation(xero: Xero) -> None:
    contact = xero.contact()

    def errors_for(**line) -> list[str]:
        return _errors(
            xero.put(
                "/Invoices",
                {"Invoices": [_invoice(xero, contact["ContactID"], LineItems=[{**LINE, **line}])]},
            )
        )

    assert errors_for(AccountCode="205") == [
        "Account code '205' has been archived or has been deleted. "
        "Each line item must reference a valid account."
    ]
    assert errors_for(AccountCode="090") == ["Account code '090' is not a valid code for this document."]
    assert errors_for(TaxType="INPUT") == ["The TaxType code 'INPUT' cannot be used with account code '200'."]
    assert errors_for(TaxType="BOGUS") == [
        "The TaxType code BOGUS does not exist or cannot be used for this type of transaction."
    ]
    default_tax = xero.invoice(contact["ContactID"], [LINE])
    assert default_tax["LineItems"][0]["TaxType"] == "OUTPUT"
    no_account = xero.put(
        "/Invoices",
        {
            "Invoices": [
                _invoice(
                    xero, contact["ContactID"], Status="AUTHORISED", LineItems=[{**LINE, "AccountCode": None}]
                )
            ]
        },
    )
    assert _errors(no_account) == ["Account code or ID must be specified."]


def test_tracking_on_lines(xero: Xero) -> None:
    contact = xero.contact()
    ok = xero.invoice(contact["ContactID"], [{**LINE, "Tracking": [{"Name": "Region", "Option": "North"}]}])
    assert ok["LineItems"][0]["Tracking"][0]["Option"] == "North"
    archived = xero.put(
        "/Invoices",
        {
            "Invoices": [
                _invoice(
                    xero,
                    contact["ContactID"],
                    LineItems=[{**LINE, "Tracking": [{"Name": "Region", "Option": "Legacy Depot"}]}],
                )
            ]
        },
    )
    assert _errors(archived) == [
        "Unknown tracking details. A Tracking Category did not match a known active Tracking Category."
    ]


def test_request_tolerance_dates_bare_objects_read_only_fields(xero: Xero) -> None:
    contact = xero.contact()
    body = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact["ContactID"], "HasAttachments": False, "HasValidationErrors": False},
        "Date": "/Date(1792972800000)/",
        "DueDate": "2026-10-31",
        "HasErrors": False,
        "Total": 999,
        "LineItems": [{**LINE, "Quantity": 24.0, "UnitAmount": 4763.25}],
    }
    response = xero.post("/Invoices", body, params={"summarizeErrors": "False"})
    invoice = response.json()["Invoices"][0]
    assert invoice["StatusAttributeString"] == "OK"
    assert invoice["Date"] == "/Date(1792972800000+0000)/"
    assert invoice["DueDate"] == "/Date(1793404800000+0000)/"
    assert invoice["Total"] == 125749.8  # read-only Total ignored, recomputed


def test_unitdp_four(xero: Xero) -> None:
    contact = xero.contact()
    response = xero.put(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"], LineItems=[{**LINE, "UnitAmount": 1.2345}])]},
        params={"unitdp": 4},
    )
    invoice_id = response.json()["Invoices"][0]["InvoiceID"]
    assert (
        xero.get(f"/Invoices/{invoice_id}", params={"unitdp": 4}).json()["Invoices"][0]["LineItems"][0][
            "UnitAmount"
        ]
        == 1.2345
    )
    assert xero.get(f"/Invoices/{invoice_id}").json()["Invoices"][0]["LineItems"][0]["UnitAmount"] == 1.23


def test_paging_filters_and_order(xero: Xero) -> None:
    contact = xero.contact()
    for number in ("P-1", "P-2", "P-3"):
        xero.invoice(contact["ContactID"], [LINE], InvoiceNumber=number, Status="AUTHORISED")
    page = xero.get("/Invoices", params={"page": 2, "pageSize": 2}).json()
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3}
    assert [i["InvoiceNumber"] for i in page["Invoices"]] == ["P-3"]
    numbers = xero.get("/Invoices", params={"InvoiceNumbers": "P-1,P-3"}).json()["Invoices"]
    assert sorted(i["InvoiceNumber"] for i in numbers) == ["P-1", "P-3"]
    where = xero.get("/Invoices", params={"where": 'Status=="AUTHORISED" AND InvoiceNumber=="P-2"'}).json()
    assert [i["InvoiceNumber"] for i in where["Invoices"]] == ["P-2"]
    assert xero.get("/Invoices", params={"where": "Nonsense ~~ 1"}).status_code == 400
    summary = xero.get("/Invoices", params={"summaryOnly": "true"}).json()["Invoices"]
    assert all("LineItems" not in i for i in summary)


# -- contacts -------------------------------------------------------------------------------------------
def test_contact_uniqueness_and_archiving(xero: Xero) -> None:
    created = xero.put("/Contacts", {"Contacts": [{"Name": "Buzz", "ContactNumber": "N-1"}]}).json()[
        "Contacts"
    ][0]
    same_name = xero.put("/Contacts", {"Contacts": [{"Name": "buzz"}]})
    assert _errors(same_name) == [
        "The contact name buzz is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    ]
    same_number = xero.put("/Contacts", {"Contacts": [{"Name": "Other", "ContactNumber": "N-1"}]})
    assert _errors(same_number) == [
        "The contact number N-1 is already assigned to another contact. "
        "The contact number must be unique across all contacts."
    ]
    xero.post(f"/Contacts/{created['ContactID']}", {"ContactStatus": "ARCHIVED"})
    assert (
        xero.put("/Contacts", {"Contacts": [{"Name": "Buzz"}]}).status_code == 200
    )  # only active names clash
    blocked = xero.put("/Invoices", {"Invoices": [_invoice(xero, created["ContactID"])]})
    assert _errors(blocked) == [
        "The contact with the specified contact details has been archived. "
        "The contact must be un-archived before creating new invoices or credit notes."
    ]
    assert len(xero.get("/Contacts").json()["Contacts"]) == 1
    assert len(xero.get("/Contacts", params={"includeArchived": "True"}).json()["Contacts"]) == 2
    assert xero.get("/Contacts", params={"searchTerm": "BUZ"}).json()["Contacts"]
    missing = xero.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": {}, "LineItems": [LINE]}]})
    assert _errors(missing) == [
        "The Contact must contain at least 1 of the following elements to identify the contact: "
        "Name, ContactID, ContactNumber"
    ]


def test_lower_case_contact_keys_are_accepted(xero: Xero) -> None:
    body = {"Contacts": [{"Name": "Lower", "addresses": [{"AddressType": "STREET", "City": "Perth"}]}]}
    contact = xero.put("/Contacts", body).json()["Contacts"][0]
    assert contact["Addresses"][0]["City"] == "Perth"


# -- payments -------------------------------------------------------------------------------------------
def test_payment_rules(xero: Xero) -> None:
    contact = xero.contact()
    draft = xero.invoice(contact["ContactID"], [LINE])
    assert _errors(_pay(xero, draft["InvoiceID"], 10)) == [
        "Payments can only be made against Authorised documents"
    ]
    invoice = xero.invoice(contact["ContactID"], [LINE], Status="AUTHORISED")
    assert _errors(_pay(xero, invoice["InvoiceID"], 111)) == [
        "Payment amount exceeds the amount outstanding on this document"
    ]
    assert _errors(_pay(xero, invoice["InvoiceID"], 0)) == ["Payment amounts must be positive amounts"]
    assert _errors(_pay(xero, invoice["InvoiceID"], 10, account="200")) == ["Account must be valid."]
    assert _pay(xero, invoice["InvoiceID"], 10, account="615").status_code == 200  # payments-enabled account
    bare = {
        "Invoice": {"InvoiceNumber": invoice["InvoiceNumber"]},
        "Account": {"Code": "090"},
        "Date": "/Date(1798761600000)/",
        "Amount": 100,
        "HasAccount": False,
    }
    payment = xero.post("/Payments", bare).json()["Payments"][0]
    after = xero.get(f"/Invoices/{invoice['InvoiceID']}").json(parse_float=Decimal)["Invoices"][0]
    assert (after["Status"], after["AmountDue"]) == ("PAID", 0)
    assert after["FullyPaidOnDate"] == "/Date(1798761600000+0000)/"  # the completing payment's date
    deleted = xero.post(f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert deleted.json()["Payments"][0]["Status"] == "DELETED"
    reopened = xero.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (reopened["Status"], reopened["AmountDue"]) == ("AUTHORISED", 100)
    assert "FullyPaidOnDate" not in reopened
    edit = xero.post(f"/Payments/{payment['PaymentID']}", {"Amount": 5})
    assert _errors(edit) == ["Payments cannot be edited, only deleted (send Status DELETED)."]
    statuses = {p["Status"] for p in xero.sandbox.control.ledger(xero.tenant_id)["Payments"]}
    assert statuses == {"AUTHORISED", "DELETED"}


def test_reconciled_payment_cannot_be_deleted(xero: Xero) -> None:
    invoice = xero.invoice(xero.contact()["ContactID"], [LINE], Status="AUTHORISED")
    body = {
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Amount": 5,
        "IsReconciled": True,
    }
    payment = xero.post("/Payments", body).json()["Payments"][0]
    refused = xero.post(f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert _errors(refused) == ["Payment cannot be deleted as it has been reconciled."]


# -- credit notes ---------------------------------------------------------------------------------------
def test_credit_note_allocation_rules(xero: Xero) -> None:
    contact = xero.contact()
    invoice = xero.invoice(contact["ContactID"], [LINE], Status="AUTHORISED")
    note_body = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact["ContactID"]},
        "Status": "AUTHORISED",
        "LineItems": [{**LINE, "UnitAmount": 50}],
    }
    note = xero.put("/CreditNotes", {"CreditNotes": [note_body]}).json()["CreditNotes"][0]
    assert (note["CreditNoteNumber"], note["RemainingCredit"]) == ("CN-0001", 55)
    url = f"/CreditNotes/{note['CreditNoteID']}/Allocations"
    too_much = xero.put(
        url,
        {
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 56, "Date": "2026-07-01"}
            ]
        },
    )
    assert too_much.status_code == 400
    done = xero.put(
        url,
        {
            "Allocations": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 55, "Date": "2026-07-01"}
            ]
        },
    ).json()["Allocations"][0]
    credited = xero.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (credited["AmountCredited"], credited["AmountDue"]) == (55, 55)
    assert xero.get(f"/CreditNotes/{note['CreditNoteID']}").json()["CreditNotes"][0]["Status"] == "PAID"
    removed = xero.call("DELETE", f"{url}/{done['AllocationID']}")
    assert removed.json()["IsDeleted"] is True
    restored = xero.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]
    assert (restored["AmountCredited"], restored["AmountDue"]) == (0, 110)
    refund = xero.put(
        "/Payments",
        {
            "Payments": [
                {
                    "CreditNote": {"CreditNoteID": note["CreditNoteID"]},
                    "Account": {"Code": "090"},
                    "Amount": 5,
                }
            ]
        },
    )
    assert refund.json()["Payments"][0]["PaymentType"] == "ARCREDITPAYMENT"


def test_accept_header_is_required(xero: Xero) -> None:
    response = xero.session.get(xero.api + "/Organisation", headers={**xero.headers(), "Accept": "*/*"})
    assert response.status_code == 406


def test_warning_status_and_optimised_filters(xero: Xero) -> None:
    contact = xero.contact()
    body = {"Invoices": [_invoice(xero, contact["ContactID"], SentToContact=True)]}
    warned = xero.put("/Invoices", body, params={"summarizeErrors": "false"}).json()["Invoices"][0]
    assert warned["StatusAttributeString"] == "WARNING"
    assert warned["Warnings"] == [{"Message": "Only AUTHORISED invoices may have SentToContact updated."}]
    authorised = xero.invoice(contact["ContactID"], [LINE], Status="AUTHORISED")
    by_status = xero.get("/Invoices", params={"Statuses": "AUTHORISED"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in by_status] == [authorised["InvoiceID"]]
    by_ids = xero.get("/Invoices", params={"IDs": f"{warned['InvoiceID']},{authorised['InvoiceID']}"}).json()
    assert len(by_ids["Invoices"]) == 2
    assert len(xero.get("/Invoices", params={"ContactIDs": contact["ContactID"]}).json()["Invoices"]) == 2
    assert len(xero.get("/Invoices", params={"createdByMyApp": "True"}).json()["Invoices"]) == 2
    where = f'Invoice.InvoiceID==guid("{authorised["InvoiceID"]}")'
    assert xero.get("/Payments", params={"where": where}).json()["Payments"] == []
    _pay(xero, authorised["InvoiceID"], 10)
    assert len(xero.get("/Payments", params={"where": where}).json()["Payments"]) == 1


def test_if_modified_since(xero: Xero) -> None:
    old = xero.contact("Old Contact")
    xero.sandbox.control.advance_clock(600)  # within the access token's 30 minutes
    new = xero.contact("New Contact")
    stamp = int(new["UpdatedDateUTC"][6:-7]) / 1000
    iso = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    http = format_datetime(datetime.fromtimestamp(stamp, UTC), usegmt=True)
    for header in (iso, http):
        found = xero.get("/Contacts", headers={"If-Modified-Since": header}).json()["Contacts"]
        assert [c["ContactID"] for c in found] == [new["ContactID"]], header
    assert len(xero.get("/Contacts").json()["Contacts"]) == 2
    assert old["ContactID"] != new["ContactID"]


def test_item_code_fills_the_line(xero: Xero) -> None:
    contact = xero.contact()
    line = xero.invoice(contact["ContactID"], [{"ItemCode": "INSTALL", "Quantity": 2}])["LineItems"][0]
    assert (line["UnitAmount"], line["AccountCode"], line["TaxType"], line["LineAmount"]) == (
        95,
        "200",
        "OUTPUT",
        190,
    )
    assert line["Item"]["Code"] == "INSTALL" and line["Description"]
    unknown = xero.put(
        "/Invoices",
        {"Invoices": [_invoice(xero, contact["ContactID"], LineItems=[{"ItemCode": "NOPE", "Quantity": 1}])]},
    )
    assert _errors(unknown) == ["Item code 'NOPE' is not valid."]


def test_a_renamed_contact_or_renumbered_invoice_frees_its_old_key_and_takes_the_new(xero: Xero) -> None:
    """The look-up indexes follow updates: the old name and number are free, the new ones are taken."""
    first = xero.put("/Contacts", {"Contacts": [{"Name": "Old Name", "ContactNumber": "K-1"}]})
    contact_id = first.json()["Contacts"][0]["ContactID"]
    xero.post(f"/Contacts/{contact_id}", {"Name": "New Name", "ContactNumber": "K-2"})
    assert xero.put("/Contacts", {"Contacts": [{"Name": "old name", "ContactNumber": "K-1"}]}).ok
    clash = xero.put("/Contacts", {"Contacts": [{"Name": "NEW NAME", "ContactNumber": "K-2"}]})
    assert len(_errors(clash)) == 2
    invoice = xero.put("/Invoices", {"Invoices": [_invoice(xero, contact_id, InvoiceNumber="R-1")]})
    invoice_id = invoice.json()["Invoices"][0]["InvoiceID"]
    xero.post(f"/Invoices/{invoice_id}", {"Invoices": [{"InvoiceID": invoice_id, "InvoiceNumber": "R-2"}]})
    assert xero.get("/Invoices/R-2").json()["Invoices"][0]["InvoiceID"] == invoice_id
    assert xero.put("/Invoices", {"Invoices": [_invoice(xero, contact_id, InvoiceNumber="R-1")]}).ok
    taken = xero.put("/Invoices", {"Invoices": [_invoice(xero, contact_id, InvoiceNumber="R-2")]})
    assert _errors(taken) == ["Invoice # must be unique."]


def test_invoice_contact_by_name_alone_finds_or_creates_with_the_name_only(xero: Xero) -> None:
    """Xero staff: a Name alone finds the active contact of that name or creates one. Xero documents nothing
    about the nested contact's other fields, so the sandbox keeps none of them (xero.md 11)."""
    existing = xero.contact()
    nested = {"Name": existing["Name"], "EmailAddress": "someone.else@example.com"}
    found = xero.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": nested, "LineItems": [LINE]}]})
    assert found.json()["Invoices"][0]["Contact"]["ContactID"] == existing["ContactID"]
    fresh = {"Name": "Name Only Pty", "EmailAddress": "new@example.com", "ContactNumber": "CF-9"}
    created = xero.put("/Invoices", {"Invoices": [{"Type": "ACCREC", "Contact": fresh, "LineItems": [LINE]}]})
    contact_id = created.json()["Invoices"][0]["Contact"]["ContactID"]
    contact = xero.get(f"/Contacts/{contact_id}").json()["Contacts"][0]
    assert contact["Name"] == "Name Only Pty"
    assert not contact.get("EmailAddress") and not contact.get("ContactNumber")
