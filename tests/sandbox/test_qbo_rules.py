"""QBO's entity rules over HTTP (quickbooks.md §2, §10 items 7-15): seeds, name uniqueness, items, invoice
lines, tax in both models, discounts, DocNumber, SyncToken and sparse updates, payments, credit memos,
refund receipts, void and delete; each refusal checked for status, code, element and Fault shape."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ledgerlink.devtools.sandboxes import RunningSandbox

from .qbo import QBO, assert_fault, connect, sales_line


def _line(amount, qty=1, tax=None, **detail):
    line = sales_line(amount, qty, tax or "NON")
    line["SalesItemLineDetail"].update(detail)
    return line


def _rows(qbo: QBO, statement: str) -> dict:
    response = qbo.query(statement)
    assert response.status_code == 200, response.text
    return response.json()["QueryResponse"]


# -- seeds ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", ["US", "AU", "UK", "CA"])
def test_seeded_company(qbo_sandbox: RunningSandbox, region: str) -> None:
    qbo = connect(qbo_sandbox, region)
    accounts = {a["Name"]: a for a in _rows(qbo, "select * from Account maxresults 1000")["Account"]}
    assert accounts["Undeposited Funds"]["AccountSubType"] == "UndepositedFunds"
    assert accounts["Checking"]["AccountType"] == "Bank"
    assert accounts["Services"]["Classification"] == "Revenue"
    assert "Old Installation Income (deleted)" not in accounts  # inactive: hidden unless Active is queried
    assert [m["Name"] for m in _rows(qbo, "select * from PaymentMethod")["PaymentMethod"]] == [
        "Cash",
        "Check",
        "Credit Card",
    ]
    prefs = qbo.get("/preferences").json()["Preferences"]
    assert prefs["CurrencyPrefs"]["MultiCurrencyEnabled"] is False
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is (region in ("AU", "UK"))
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is (region == "US")


def test_tax_codes_per_region(qbo_sandbox: RunningSandbox) -> None:
    def rates(region: str) -> dict[str, list[str]]:
        qbo = connect(qbo_sandbox, region)
        by_id = {r["Id"]: r["RateValue"] for r in _rows(qbo, "select * from TaxRate")["TaxRate"]}
        codes = _rows(qbo, "select * from TaxCode")["TaxCode"]
        return {
            c["Name"]: [by_id[d["TaxRateRef"]["value"]] for d in c["SalesTaxRateList"]["TaxRateDetail"]]
            for c in codes
        }

    us = rates("US")
    assert us["TAX"] == [] and us["NON"] == [] and us["California"] == [7.25]
    assert rates("AU")["GST"] == [10] and rates("UK")["20.0% S"] == [20]
    canada = rates("CA")
    assert canada == {"HST ON": [13], "GST": [5]}  # the company with no 0% code


# -- customers and items --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Sunny Supplies", "pat installer", "Sunny Homes"])
def test_display_name_unique_across_customers_vendors_employees(qbo: QBO, name: str) -> None:
    qbo.customer("Sunny Homes")
    # the seeded vendor, the seeded *inactive* employee (case-insensitive) and an existing customer
    assert_fault(qbo.post("/customer", {"DisplayName": name}), 400, "6240", "DisplayName")


def test_customer_name_from_parts_or_6080(qbo: QBO) -> None:
    built = qbo.create("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace", "Balance": 0, "Job": False})
    assert built["DisplayName"] == "Ada Lovelace"
    assert_fault(qbo.post("/customer", {"CompanyName": "", "Notes": "x"}), 400, "6080")


def test_inactive_customer_cannot_be_invoiced(qbo: QBO) -> None:
    customer = qbo.customer()
    update = {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True, "Active": False}
    assert qbo.create("Customer", update)["Active"] is False
    assert_fault(
        qbo.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(10)]}), 400, "610"
    )


def test_item_rules(qbo: QBO) -> None:
    service = {"Name": "Install", "Type": "Service", "IncomeAccountRef": {"value": "7"}, "UnitPrice": 0}
    created = qbo.create("Item", service)
    assert created["IncomeAccountRef"] == {"value": "7", "name": "Services"}
    assert_fault(qbo.post("/item", service), 400, "6240", "Name")
    assert_fault(
        qbo.post("/item", {**service, "Name": "B", "IncomeAccountRef": {"value": ""}}),
        400,
        "2020",
        "IncomeAccountRef",
    )
    assert_fault(qbo.post("/item", {**service, "Name": "C", "IncomeAccountRef": {"value": "4"}}), 400, "6430")
    assert_fault(qbo.post("/item", {**service, "Name": "D", "IncomeAccountRef": {"value": "11"}}), 400, "610")
    assert_fault(
        qbo.post("/item", {**service, "Name": "E", "IncomeAccountRef": {"value": "999"}}), 400, "2500"
    )
    non_inventory = qbo.create(
        "Item", {**service, "Name": "Panels", "Type": "NonInventory", "IncomeAccountRef": {"value": "6"}}
    )
    assert non_inventory["Type"] == "NonInventory"


# -- invoices -------------------------------------------------------------------------------------------
def test_invoice_wire_format(qbo: QBO) -> None:
    customer = qbo.customer()
    response = qbo.post(
        "/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line("100.00", 4, "TAX")]}
    )
    raw = response.text
    assert (
        '"TotalAmt":107.25' in raw
        and '"Amount":100.0' in raw
        and '"Qty":4' in raw
        and '"UnitPrice":25' in raw
    )
    invoice = response.json()["Invoice"]
    assert (invoice["Id"], invoice["SyncToken"]) == (invoice["Id"], "0") and isinstance(invoice["Id"], str)
    assert "null" not in raw
    now = datetime.fromtimestamp(qbo.sandbox.control.clock(), ZoneInfo("America/Los_Angeles"))
    assert invoice["TxnDate"] == now.date().isoformat()
    created = datetime.fromisoformat(invoice["MetaData"]["CreateTime"])
    assert created.utcoffset() == now.utcoffset() and abs((created - now).total_seconds()) < 5
    assert response.json()["time"][-6:] == now.isoformat()[-6:]


def test_invoice_needs_customer_and_lines(qbo: QBO) -> None:
    customer = qbo.customer()
    assert_fault(qbo.post("/invoice", {"Line": [_line(10)]}), 400, "2020", "CustomerRef")
    assert_fault(
        qbo.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": []}), 400, "2020", "Line"
    )
    no_item = _line(10)
    del no_item["SalesItemLineDetail"]["ItemRef"]
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [no_item]}
    assert_fault(qbo.post("/invoice", body), 400, "2020", "Line.SalesItemLineDetail.ItemRef")
    body["Line"] = [_line(10, ItemRef={"value": "404"})]
    assert_fault(qbo.post("/invoice", body), 400, "2500", "Line.SalesItemLineDetail.ItemRef")
    body["CustomerRef"] = {"value": "999"}
    assert_fault(qbo.post("/invoice", body), 400, "2500", "CustomerRef")


def test_amount_must_equal_qty_times_unit_price(qbo: QBO) -> None:
    customer = qbo.customer()
    line = _line(100, 2)
    line["SalesItemLineDetail"]["UnitPrice"] = 49
    error = assert_fault(
        qbo.post("/invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}), 400, "6070"
    )
    assert error["element"] == "Line.Amount"
    string_money = _line("98.00", "2")  # python-quickbooks sends Decimals as strings
    assert qbo.invoice(customer["Id"], [string_money])["TotalAmt"] == 98.0


def test_us_lines_take_tax_or_non_only(qbo: QBO) -> None:
    customer = qbo.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(10, tax="2")]}
    assert_fault(qbo.post("/invoice", body), 400, "6100", "Line.SalesItemLineDetail.TaxCodeRef")


def test_us_tax_uses_the_transaction_code_or_the_company_default(qbo: QBO) -> None:
    customer = qbo.customer()
    mixed = qbo.invoice(customer["Id"], [_line(200, tax="TAX"), _line(50, tax="NON")])
    detail = mixed["TxnTaxDetail"]
    assert detail["TxnTaxCodeRef"] == {"value": "2"} and detail["TotalTax"] == 14.5
    assert detail["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 200.0
    assert mixed["TotalAmt"] == 264.5
    assert "GlobalTaxCalculation" not in mixed  # python-quickbooks sends TaxExcluded even to US companies
    sent = qbo.invoice(customer["Id"], [_line(10, tax="TAX")], GlobalTaxCalculation="TaxExcluded")
    assert sent["TotalAmt"] == 10.73


@pytest.mark.parametrize(
    ("mode", "total", "tax"),
    [("TaxExcluded", 110.0, 10.0), ("TaxInclusive", 100.0, 9.09), ("NotApplicable", 100.0, 0.0)],
)
def test_global_tax_calculation(qbo_sandbox: RunningSandbox, mode: str, total: float, tax: float) -> None:
    qbo = connect(qbo_sandbox, "AU")
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100, tax="4")], GlobalTaxCalculation=mode)
    assert (invoice["TotalAmt"], invoice["TxnTaxDetail"]["TotalTax"], invoice["GlobalTaxCalculation"]) == (
        total,
        tax,
        mode,
    )


def test_global_lines_need_a_real_tax_code(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, "UK")
    customer = qbo.customer()
    line = _line(10)
    del line["SalesItemLineDetail"]["TaxCodeRef"]
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
    assert_fault(qbo.post("/invoice", body), 400, "6000", "Line.SalesItemLineDetail.TaxCodeRef")
    body["Line"] = [_line(10, tax="NON")]
    assert_fault(qbo.post("/invoice", body), 400, "2500", "Line.SalesItemLineDetail.TaxCodeRef")


def test_discounts_and_tax_order(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, "AU")
    customer = qbo.customer()
    percent = {
        "DetailType": "DiscountLineDetail",
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
    }
    before = qbo.invoice(customer["Id"], [_line(200, tax="4"), percent])
    assert (before["TxnTaxDetail"]["TotalTax"], before["TotalAmt"]) == (20.0, 200.0)
    assert [line["DetailType"] for line in before["Line"]][-1] == "SubTotalLineDetail"
    after = qbo.invoice(customer["Id"], [_line(200, tax="4"), percent], ApplyTaxAfterDiscount=True)
    assert (after["TxnTaxDetail"]["TotalTax"], after["TotalAmt"]) == (18.0, 198.0)
    zero = {"DetailType": "DiscountLineDetail", "Amount": 0, "DiscountLineDetail": {"PercentBased": False}}
    assert qbo.invoice(customer["Id"], [_line(10, tax="4"), zero])["TotalAmt"] == 11.0
    empty = {"DetailType": "DiscountLineDetail", "DiscountLineDetail": {"PercentBased": False}}
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(10, tax="4"), empty]}
    assert_fault(qbo.post("/invoice", body), 400, "6090")


def test_negative_lines_need_a_non_negative_total(qbo: QBO) -> None:
    customer = qbo.customer()
    ok = qbo.invoice(customer["Id"], [_line(100), _line(-40, 1)])
    assert ok["TotalAmt"] == 60.0
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(10), _line(-40)]}
    assert_fault(qbo.post("/invoice", body), 400, "6000")


def test_doc_numbers(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, "AU")  # custom transaction numbers on: kept as sent, none when not sent
    customer = qbo.customer()
    assert "DocNumber" not in qbo.invoice(customer["Id"], [_line(10, tax="4")])
    qbo.invoice(customer["Id"], [_line(10, tax="4")], DocNumber="CF-1000")
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(10, tax="4")], "DocNumber": "CF-1000"}
    error = assert_fault(qbo.post("/invoice", body), 400, "6140", "DocNumber")
    assert "DocNumber=CF-1000 is assigned to TxnType=Invoice" in error["Detail"]
    assert qbo.create("Invoice", body, include="allowduplicatedocnum")["DocNumber"] == "CF-1000"
    assert qbo.create("CreditMemo", body)["DocNumber"] == "CF-1000"  # unique per transaction type only
    assert_fault(qbo.post("/invoice", {**body, "DocNumber": "X" * 22}), 400, "2050", "DocNumber")
    qbo.sandbox.control.update_settings(qbo.realm, custom_txn_numbers=False)
    del body["DocNumber"]
    assert qbo.create("Invoice", body)["DocNumber"] == "CF-1001"  # auto-numbering keeps the prefix


def test_sync_token_sparse_and_full_update(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100)], PrivateNote="first", CustomerMemo={"value": "thanks"})
    sparse = qbo.create(
        "Invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "second"}
    )
    assert (sparse["SyncToken"], sparse["PrivateNote"], sparse["CustomerMemo"]) == (
        "1",
        "second",
        {"value": "thanks"},
    )
    stale = qbo.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert_fault(stale, 400, "5010")
    full = {
        "Id": invoice["Id"],
        "SyncToken": "1",
        "CustomerRef": {"value": customer["Id"]},
        "Line": [_line(50)],
    }
    updated = qbo.create("Invoice", full)
    assert updated["SyncToken"] == "2" and "CustomerMemo" not in updated and updated["TotalAmt"] == 50.0
    assert updated["Line"][0]["Id"] == "2"  # a line without a known Id is a new line


def test_line_ids_are_kept_on_update(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(10), _line(20)])
    lines = [line for line in invoice["Line"] if line["DetailType"] != "SubTotalLineDetail"]
    body = {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "Line": [lines[1]]}
    updated = qbo.create("Invoice", body)
    assert [line.get("Id") for line in updated["Line"]] == ["2", None] and updated["TotalAmt"] == 20.0


def test_void_and_delete_invoice(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100)], PrivateNote="job 7")
    voided = qbo.post(
        "/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, params={"operation": "void"}
    ).json()["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (0.0, 0.0, "Voided - job 7")
    assert voided["Line"][0]["SalesItemLineDetail"]["Qty"] == 0
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["SyncToken"] == "1"
    other = qbo.invoice(customer["Id"], [_line(5)])
    deleted = qbo.post("/invoice", {"Id": other["Id"], "SyncToken": "0"}, params={"operation": "delete"})
    assert deleted.json()["Invoice"] == {"Id": other["Id"], "status": "Deleted", "domain": "QBO"}
    assert_fault(qbo.get(f"/invoice/{other['Id']}"), 400, "610")


# -- payments, credit memos, refund receipts ------------------------------------------------------------
def _payment(customer_id: str, total, links: list[tuple[str, str, float]], **fields) -> dict:
    lines = [{"Amount": a, "LinkedTxn": [{"TxnId": i, "TxnType": t, "TxnLineId": 1}]} for i, t, a in links]
    return {"CustomerRef": {"value": customer_id}, "TotalAmt": total, "Line": lines, **fields}


def test_payment_applies_links_and_defaults_to_undeposited_funds(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100)])
    payment = qbo.create(
        "Payment",
        _payment(customer["Id"], 120, [(invoice["Id"], "Invoice", 60)], PaymentMethodRef={"value": "2"}),
    )
    assert payment["DepositToAccountRef"]["value"] == "3" and payment["UnappliedAmt"] == 60.0
    read = qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert read["Balance"] == 40.0 and read["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    banked = qbo.create(
        "Payment",
        _payment(customer["Id"], 40, [(invoice["Id"], "Invoice", 40)], DepositToAccountRef={"value": "1"}),
    )
    assert banked["DepositToAccountRef"] == {"value": "1", "name": "Checking"}
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 0.0


def test_payment_refusals(qbo: QBO) -> None:
    customer, stranger = qbo.customer("A"), qbo.customer("B")
    invoice = qbo.invoice(customer["Id"], [_line(100)])
    assert_fault(
        qbo.post("/payment", _payment(stranger["Id"], 10, [(invoice["Id"], "Invoice", 10)])), 400, "620"
    )
    assert_fault(
        qbo.post("/payment", _payment(customer["Id"], 10, [(invoice["Id"], "Invoice", 20)])), 400, "6000"
    )
    assert_fault(
        qbo.post("/payment", _payment(customer["Id"], 500, [(invoice["Id"], "Invoice", 101)])), 400, "6000"
    )
    assert_fault(qbo.post("/payment", {"CustomerRef": {"value": customer["Id"]}}), 400, "2020", "TotalAmt")
    wrong_account = _payment(customer["Id"], 10, [], DepositToAccountRef={"value": "7"})
    assert_fault(qbo.post("/payment", wrong_account), 400, "6000", "DepositToAccountRef")


def test_void_payment_restores_the_invoice(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100)])
    payment = qbo.create("Payment", _payment(customer["Id"], 100, [(invoice["Id"], "Invoice", 100)]))
    params = {"operation": "update", "include": "void"}
    voided = qbo.post("/payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, params=params)
    assert voided.json()["Payment"]["TotalAmt"] == 0.0
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 100.0
    stale = qbo.post("/payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, params=params)
    assert_fault(stale, 400, "5010")


def test_credit_memo_applied_by_a_zero_payment(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.invoice(customer["Id"], [_line(100)])
    memo = qbo.create("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [_line(30)]})
    assert memo["RemainingCredit"] == 30.0
    links = [(invoice["Id"], "Invoice", 30), (memo["Id"], "CreditMemo", 30)]
    qbo.create("Payment", _payment(customer["Id"], 0, links))
    assert qbo.get(f"/creditmemo/{memo['Id']}").json()["CreditMemo"]["RemainingCredit"] == 0.0
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 70.0


def test_refund_receipt_needs_a_bank_account(qbo: QBO) -> None:
    body = {"Line": [_line(25)], "PaymentMethodRef": {"value": "2"}}
    assert_fault(qbo.post("/refundreceipt", body), 400, "2020", "DepositToAccountRef")
    refund = qbo.create("RefundReceipt", {**body, "DepositToAccountRef": {"value": "1"}})
    assert (refund["TotalAmt"], refund["Balance"]) == (25.0, 0.0)


def test_ledger_dump_and_page(qbo: QBO) -> None:
    customer = qbo.customer("Page Person")
    qbo.invoice(customer["Id"], [_line(42)], DocNumber="P-1")
    ledger = qbo.sandbox.control.ledger(qbo.realm)
    assert ledger["realmId"] == qbo.realm and [c["DisplayName"] for c in ledger["Customer"]] == [
        "Page Person"
    ]
    assert ledger["Customer"][0]["Balance"] == 42.0 and ledger["Invoice"][0]["TotalAmt"] == 42.0
    json.dumps(ledger)
    import requests

    page = requests.get(f"{qbo.sandbox.base_url}/_sandbox/tenants/{qbo.realm}")
    assert page.status_code == 200 and "Page Person" in page.text and "42.00" in page.text
