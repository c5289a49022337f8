"""Xero bodies, compared whole, and checked against Xero's OpenAPI spec."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers.contract import AccountRef, ObjectKind, PaymentReversal, SyncItem
from ledgerlink.ledgers.http import json_bytes
from ledgerlink.ledgers.xero import payloads
from ledgerlink.ledgers.xero.ledger import XeroLedger

from .. import documents as d

D = Decimal
# Xero ids are UUIDs (the spec checks their format).
C1, I1, P1, CN1 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 5))


def test_invoice_body_carries_cashflow_tax_per_line_and_signs_on_the_unit():
    invoice = d.invoice(
        lines=(
            # 12.25 x 10% = 1.225: CashFlow rounds half up to 1.23 where half-even would give 1.22.
            d.line("12.25", "1.23"),
            d.line("-2.00", "-0.20", line_type="discount", quantity="-1", unit="2.00", description="Promo"),
        ),
        reference="Deposit",
        url="https://cashflow.example/invoices/42",
    )
    body = payloads.invoice_body(invoice, d.mapping(), "contact-1")
    assert body == {
        "Type": "ACCREC",
        "Status": "AUTHORISED",
        "InvoiceNumber": "INV-00042",
        "Contact": {"ContactID": "contact-1"},
        "Date": "2026-11-02",
        "DueDate": "2026-11-30",
        "CurrencyCode": "AUD",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "Description": "Solar system",
                "Quantity": D("1"),
                "UnitAmount": D("12.25"),
                "LineAmount": D("12.25"),
                "TaxType": "OUTPUT",
                "TaxAmount": D("1.23"),
                "AccountCode": "200",
            },
            {
                "Description": "Promo",
                "Quantity": D("1"),
                "UnitAmount": D("-2.00"),
                "LineAmount": D("-2.00"),
                "TaxType": "OUTPUT",
                "TaxAmount": D("-0.20"),
                "AccountCode": "200",
            },
        ],
        "Reference": "Deposit",
        "Url": "https://cashflow.example/invoices/42",
    }
    assert b'"TaxAmount":1.23' in json_bytes(body)  # exact on the wire, never a float


def test_a_quantity_whose_product_is_not_whole_cents_goes_as_one_unit_of_the_line_amount():
    # 6.5 x 1234.57 = 8024.705 -> CashFlow's line is 8024.71; Xero would recompute its own rounding.
    line = d.line("8024.71", "802.47", quantity="6.5", unit="1234.57", description="Panels")
    item = payloads.invoice_body(d.invoice(lines=(line,)), d.mapping(), "c")["LineItems"][0]
    assert (item["Description"], item["Quantity"], item["UnitAmount"], item["LineAmount"]) == (
        "Panels (6.5 x 1234.57)",
        D(1),
        D("8024.71"),
        D("8024.71"),
    )


def test_a_price_per_watt_keeps_four_places_and_invoices_go_with_unitdp_4():
    line = d.line("181.50", "18.15", quantity="6600", unit="0.0275", description="6.6 kW array")
    invoice = d.invoice(lines=(line,))
    item = payloads.invoice_body(invoice, d.mapping(), "c")["LineItems"][0]
    assert (item["Quantity"], item["UnitAmount"], item["LineAmount"]) == (D(6600), D("0.0275"), D("181.50"))
    assert b'"UnitAmount":0.0275' in json_bytes(item)
    request = XeroLedger.create_request(
        (SyncItem("r", ObjectKind.INVOICE, invoice, {"contact": C1}),), d.mapping()
    )
    assert request.params["unitdp"] == "4"


def test_inclusive_invoice_with_line_type_account_by_id_and_project_tracking():
    invoice = d.invoice(
        lines=(d.line("110.00", "10.00", line_type="fee", description=""),),
        inclusive=True,
        project_id="proj-1",
    )
    mapping = d.mapping(
        line_accounts={"fee": AccountRef("acc-fees")},
        tracking_category_id="cat-1",
        tracking_category_name="Projects",
        tracking_options={"proj-1": "Smith roof"},
    )
    body = payloads.invoice_body(invoice, mapping, "c")
    assert body["LineAmountTypes"] == "Inclusive"
    assert body["LineItems"] == [
        {
            "Description": "Fee",
            "Quantity": D(1),
            "UnitAmount": D("110.00"),
            "LineAmount": D("110.00"),
            "TaxType": "OUTPUT",
            "TaxAmount": D("10.00"),
            "AccountID": "acc-fees",
            "Tracking": [{"TrackingCategoryID": "cat-1", "Name": "Projects", "Option": "Smith roof"}],
        }
    ]


def test_missing_mapping_is_refused_not_guessed():
    with pytest.raises(payloads.MappingMissing):
        payloads.invoice_body(d.invoice(), d.mapping(tax_rates={}), "c")


def test_contact_body_keeps_cashflow_id_in_contact_number():
    customer = d.customer(
        7, phone="0400 000 000", address_lines=("1 Sun St",), city="Perth", postal_code="6000", country="AU"
    )
    assert payloads.contact_body(customer) == {
        "Name": "Customer 7",
        "ContactNumber": "cust-7",
        "EmailAddress": "customer7@example.com",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0400 000 000"}],
        "Addresses": [
            {
                "AddressType": "POBOX",
                "AddressLine1": "1 Sun St",
                "City": "Perth",
                "PostalCode": "6000",
                "Country": "AU",
            }
        ],
    }
    assert payloads.disambiguated_name(customer) == "Customer 7 (customer7@example.com)"


def test_payment_body_by_code_or_id_with_a_findable_reference():
    payment = d.payment("500.00")
    assert payloads.payment_body(payment, "inv-1", AccountRef("acc-1", "610")) == {
        "Invoice": {"InvoiceID": "inv-1"},
        "Account": {"Code": "610"},
        "Date": "2026-11-05",
        "Amount": D("500.00"),
        "Reference": "CashFlow [pay-1]",
    }
    assert payloads.payment_body(payment, "inv-1", AccountRef("acc-1"), D("125.5"))["Account"] == {
        "AccountID": "acc-1"
    }
    assert payloads.payment_body(payment, "inv-1", AccountRef("acc-1"), D("125.5"))["Amount"] == D("125.50")


def test_credit_note_spreads_the_unpaid_balance_over_lines_and_sums_exactly():
    invoice = d.invoice(
        lines=(
            d.line("1000.00", "100.00"),
            d.line("200.00", "20.00", line_type="adder", description="Trenching"),
        )
    )
    cancellation = d.cancellation(invoice, credit="462.01", paid="857.99")  # of 1,320.00
    body = payloads.credit_note_body(cancellation, d.mapping(), "contact-1")
    lines = body["LineItems"]
    assert [(ln["LineAmount"], ln["TaxAmount"]) for ln in lines] == [
        (D("350.01"), D("35.00")),  # 1,100.00 x 0.35000758 = 385.01 in total, 35.00 of it tax
        (D("70.00"), D("7.00")),  # the last line takes what is left: 462.01 - 385.01
    ]
    assert sum(ln["LineAmount"] + ln["TaxAmount"] for ln in lines) == D("462.01")
    assert {k: v for k, v in body.items() if k != "LineItems"} == {
        "Type": "ACCRECCREDIT",
        "Status": "AUTHORISED",
        "CreditNoteNumber": "CN-00001",
        "Reference": "Cancels INV-00042",
        "Contact": {"ContactID": "contact-1"},
        "Date": "2026-11-10",
        "CurrencyCode": "AUD",
        "LineAmountTypes": "Exclusive",
    }


def _every_request(mapping=None):
    """Every request XeroLedger builds, one per step, for the spec check."""
    ledger = XeroLedger(client=None)  # type: ignore[arg-type]  # build never calls Xero
    mapping = mapping or d.mapping()
    invoice = d.invoice()
    payment = d.payment()
    reversal = PaymentReversal("rev-1", payment, D("100.00"), D("400.00"), payment.date, "refund")
    paid_cancel = d.cancellation(invoice, "600.00", "500.00")
    items = [
        SyncItem("r1", ObjectKind.CUSTOMER, d.customer()),
        SyncItem("r2", ObjectKind.INVOICE, invoice, {"contact": C1}),
        SyncItem("r3", ObjectKind.PAYMENT, payment, {"invoice": I1}),
        SyncItem("r4", ObjectKind.PAYMENT_REVERSAL, reversal, {"payment": P1, "invoice": I1}),
        SyncItem(
            "r5", ObjectKind.PAYMENT_REVERSAL, reversal, {"payment": P1, "invoice": I1, "deleted_payment": P1}
        ),
        SyncItem("r6", ObjectKind.CANCELLATION, d.cancellation(invoice, "1100.00", "0"), {"invoice": I1}),
        SyncItem("r7", ObjectKind.CANCELLATION, paid_cancel, {"invoice": I1, "contact": C1}),
        SyncItem(
            "r8", ObjectKind.CANCELLATION, paid_cancel, {"invoice": I1, "contact": C1, "credit_note": CN1}
        ),
    ]
    return ledger.build(items, mapping)


def test_build_packs_creates_and_steps_through_multi_step_operations():
    steps = [
        (
            r.method,
            r.path.replace(P1, "p1").replace(I1, "i1").replace(CN1, "cn1"),
            r.step,
            [i.record_id for i in r.items],
        )
        for r in _every_request()
    ]
    assert steps == [
        ("PUT", "/Contacts", "create", ["r1"]),
        ("PUT", "/Invoices", "create", ["r2"]),
        ("PUT", "/Payments", "create", ["r3"]),
        ("POST", "/Payments/p1", "delete_payment", ["r4"]),
        ("PUT", "/Payments", "repost_payment", ["r5"]),
        ("POST", "/Invoices/i1", "void", ["r6"]),
        ("PUT", "/CreditNotes", "credit_note", ["r7"]),
        ("PUT", "/CreditNotes/cn1/Allocations", "allocate", ["r8"]),
    ]


def test_build_splits_batches_at_fifty():
    items = [SyncItem(f"r{n}", ObjectKind.CUSTOMER, d.customer(n)) for n in range(120)]
    sizes = [len(r.items) for r in XeroLedger(client=None).build(items, d.mapping())]  # type: ignore[arg-type]
    assert sizes == [50, 50, 20]


@pytest.mark.parametrize("index", range(8))
def test_every_built_request_matches_xeros_openapi_spec(xero_spec, index):
    request = _every_request()[index]
    xero_spec.validate(request.method, request.path, request.body, dict(request.params))


def test_the_spec_check_can_fail(xero_spec):
    from openapi_core.validation.request.exceptions import InvalidRequestBody

    with pytest.raises(InvalidRequestBody):
        xero_spec.validate(
            "PUT", "/Invoices", {"Invoices": [{"Type": "ACCREC", "LineItems": [{"UnitAmount": "1.00"}]}]}
        )
