"""The QuickBooks ledger against its sandbox over real HTTP: customers, invoices in batches of 30 with
per-item outcomes, requestid replay, payments, refunds, both cancellations, tax reconciled to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers import http
from ledgerlink.ledgers.contract import ObjectKind, PaymentReversal, SyncItem
from ledgerlink.ledgers.errors import NAME_RACE, Conflict, NeedsAttention, Retry, UnknownOutcome
from ledgerlink.ledgers.quickbooks import invoice_customers
from ledgerlink.ledgers.quickbooks.contacts import IN_LIST
from ledgerlink.ledgers.quickbooks.ledger import QuickBooksLedger

from .. import documents as d
from .conftest import direct_ledger, push

pytestmark = pytest.mark.django_db


def _by_id(company, entity: str) -> dict[str, dict]:
    return {str(e["Id"]): e for e in company.documents(entity)}


def test_customers_are_matched_by_email_in_one_query_and_clashing_names_get_a_suffix(au):
    same_email = SyncItem(
        "b", ObjectKind.CUSTOMER, d.customer(2, name="Robert", email="CUSTOMER1@example.com")
    )
    same_name = SyncItem("c", ObjectKind.CUSTOMER, d.customer(3, name="Customer 1"))
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers([same_email, same_name])
    # One query by email, then one for the names among customers: QuickBooks has no OR.
    assert au.harness.calls(au.realm, method="GET") == before + 2
    assert [(o.record_id, o.remote.id) for o in resolution.matched] == [("b", au.customer_id)]
    created = push(au.ledger, list(resolution.to_create), au.mapping)
    assert all(o.error is None for o in created)
    names = sorted(c["DisplayName"] for c in au.documents("Customer"))
    assert names == ["Customer 1", "Customer 1 (customer3@example.com)"]


def test_a_name_a_vendor_holds_is_refused_once_then_vendors_and_employees_are_checked_too(au):
    """Names are checked among customers alone until QuickBooks refuses one (6240): that customer is sent
    again at once, and from then on this company's vendors' and employees' names are checked as well, so
    the second attempt goes under a name that tells it apart, and no customer is made twice."""
    vendor_name = SyncItem("v", ObjectKind.CUSTOMER, d.customer(4, name="Sunny Supplies"))  # a seeded vendor
    (refused,) = push(au.ledger, list(au.ledger.resolve_customers([vendor_name]).to_create), au.mapping)
    assert isinstance(refused.error, Retry) and refused.error.after_s == 0
    assert "refused" in str(refused.error) and NAME_RACE in str(refused.error)

    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers([vendor_name])
    assert au.harness.calls(au.realm, method="GET") == before + 4  # emails; customers, vendors, employees
    (made,) = push(au.ledger, list(resolution.to_create), au.mapping)
    assert made.error is None
    names = sorted(c["DisplayName"] for c in au.documents("Customer"))
    assert names == ["Customer 1", "Sunny Supplies (customer4@example.com)"]


def test_a_refused_name_in_a_backfill_drops_the_copy_and_the_next_read_holds_every_name_list(au):
    many = IN_LIST + 1
    first = [SyncItem(f"a{n}", ObjectKind.CUSTOMER, d.customer(n + 10)) for n in range(many)]
    first[1] = SyncItem("v", ObjectKind.CUSTOMER, d.customer(4, name="Sunny Supplies"))  # a seeded vendor
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers(first)
    assert au.harness.calls(au.realm, method="GET") == before + 1  # the customers
    outcomes = push(au.ledger, list(resolution.to_create), au.mapping)
    assert [o.record_id for o in outcomes if o.error is not None] == ["v"]

    again = [first[1]] + [SyncItem(f"b{n}", ObjectKind.CUSTOMER, d.customer(n + 200)) for n in range(many)]
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers(again)
    assert au.harness.calls(au.realm, method="GET") == before + 3  # customers, vendors, employees
    names = {item.record_id: item.document.name for item in resolution.to_create}
    assert names["v"] == "Sunny Supplies (customer4@example.com)"
    assert all(o.error is None for o in push(au.ledger, list(resolution.to_create), au.mapping))


def test_a_backfills_customers_are_read_once_then_matched_and_named_from_the_copy(au):
    """A claim of more customers than one IN list reads every customer once; later claims match by email and
    avoid clashing names without a call; a live sync still asks."""
    many = IN_LIST + 1
    first = [SyncItem(f"a{n}", ObjectKind.CUSTOMER, d.customer(n + 10)) for n in range(many)]
    first[0] = SyncItem("b", ObjectKind.CUSTOMER, d.customer(2, name="Robert", email="customer1@example.com"))
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers(first)
    assert au.harness.calls(au.realm, method="GET") == before + 1  # the customers, any status
    assert [(o.record_id, o.remote.id) for o in resolution.matched] == [("b", au.customer_id)]
    assert all(o.error is None for o in push(au.ledger, list(resolution.to_create), au.mapping))

    # The next claim: a customer made by the last one is matched by its email, a created name is taken.
    second = [SyncItem(f"c{n}", ObjectKind.CUSTOMER, d.customer(n + 100)) for n in range(many)]
    second[0] = SyncItem(
        "again", ObjectKind.CUSTOMER, d.customer(5, name="Other", email="customer13@example.com")
    )
    second[1] = SyncItem("clash", ObjectKind.CUSTOMER, d.customer(6, name="Customer 14"))
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers(second)
    assert au.harness.calls(au.realm, method="GET") == before
    made = {c["PrimaryEmailAddr"]["Address"]: c["Id"] for c in au.documents("Customer")}
    assert [(o.record_id, o.remote.id) for o in resolution.matched] == [
        ("again", made["customer13@example.com"])
    ]
    names = {item.record_id: item.document.name for item in resolution.to_create}
    assert names["clash"] == "Customer 14 (customer6@example.com)"

    # A live sync of one customer added in QuickBooks since the read: asked exactly, so matched.
    body = {"DisplayName": "Elsewhere", "PrimaryEmailAddr": {"Address": "customer7@example.com"}}
    added = au.ledger.client.write("Customer", body, "added-in-quickbooks").body["Customer"]
    before = au.harness.calls(au.realm, method="GET")
    resolution = au.ledger.resolve_customers(
        [SyncItem("x", ObjectKind.CUSTOMER, d.customer(8, email="customer7@example.com"))]
    )
    assert au.harness.calls(au.realm, method="GET") == before + 1  # its email; matched, so no name checks
    assert [o.remote.id for o in resolution.matched] == [added["Id"]]


def test_a_payment_on_an_invoice_made_elsewhere_names_the_customer_quickbooks_holds(au):
    """An invoice this process did not create (linked to one already in QuickBooks under a customer the
    bookkeeper made, or made by another consumer): its payment reads the invoice and names that customer,
    which QuickBooks requires."""
    body = {"DisplayName": "Made By Hand", "PrimaryEmailAddr": {"Address": "hand@example.com"}}
    theirs = au.ledger.client.write("Customer", body, "by-hand-customer").body["Customer"]["Id"]
    made = SyncItem("by-hand", ObjectKind.INVOICE, d.invoice("INV-00777"), {"contact": theirs})
    (invoice,) = push(au.ledger, [made], au.mapping)
    invoice_customers.MEMORY.forget(au.realm)  # as if another process had made it
    # A bank transfer has no PaymentMethod, so the one read counted is the invoice's.
    pay = d.payment("10.00", method="bank_transfer", invoice_number="INV-00777")
    before = au.harness.calls(au.realm, method="GET")
    (paid,) = push(
        au.ledger, [SyncItem("pay-hand", ObjectKind.PAYMENT, pay, {"invoice": invoice.remote.id})], au.mapping
    )
    assert au.harness.calls(au.realm, method="GET") == before + 1  # the invoice, for its customer
    assert paid.error is None
    assert _by_id(au, "Payment")[paid.remote.id]["CustomerRef"]["value"] == theirs


def test_an_invoice_batch_with_one_bad_item_saves_the_rest_in_one_request(au):
    good = [au.invoice_item(f"INV-{n:05d}") for n in range(1, 4)]
    bad = SyncItem("rec-bad", ObjectKind.INVOICE, d.invoice("INV-00099"), {"contact": "99999"})
    batches_before = au.harness.calls(au.realm, method="POST", path="*/batch")
    outcomes = push(au.ledger, [good[0], bad, *good[1:]], au.mapping)
    assert au.harness.calls(au.realm, method="POST", path="*/batch") == batches_before + 1
    assert [o.record_id for o in outcomes] == ["rec-INV-00001", "rec-bad", "rec-INV-00002", "rec-INV-00003"]
    failed = outcomes[1].error
    assert isinstance(failed, NeedsAttention) and "CustomerRef" in failed.message and failed.correlation_id
    saved = {i["DocNumber"]: i for i in au.documents("Invoice")}
    assert sorted(saved) == ["INV-00001", "INV-00002", "INV-00003"]
    # CashFlow's 1,000.00 + GST 100.00, to the cent, and each line posted through its line type's item.
    assert all(o.remote.total == Decimal("1100.00") for o in outcomes if o.error is None)
    items = {i["Name"]: i for i in au.documents("Item")}
    assert items["CashFlow system"]["IncomeAccountRef"]["value"] == au.harness.sales_code
    # The seeded Services and ours: no invoice needed a tax rounding line, so no rounding item was made.
    assert len(items) == 2


def test_a_refused_create_drops_the_companys_copies_so_the_next_build_reads_them_again(au):
    """Settings and items are read once per process and company (a backfill's claims share them), until
    QuickBooks refuses something built from them: then the next build reads what QuickBooks holds now."""
    push(au.ledger, [au.invoice_item("INV-00001")], au.mapping)
    other_claim = QuickBooksLedger(au.ledger.client)  # a later claim builds a ledger of its own
    before = au.harness.calls(au.realm, method="GET")
    other_claim.build([au.invoice_item("INV-00002")], au.mapping)
    assert au.harness.calls(au.realm, method="GET") == before  # the copies stood
    bad = SyncItem("rec-bad", ObjectKind.INVOICE, d.invoice("INV-00099"), {"contact": "99999"})
    (refused,) = push(other_claim, [bad], au.mapping)
    assert isinstance(refused.error, NeedsAttention)
    before = au.harness.calls(au.realm, method="GET")
    other_claim.build([au.invoice_item("INV-00002")], au.mapping)
    # Read again: the preferences, the tax codes and rates, the items.
    assert au.harness.calls(au.realm, method="GET") == before + 4


def test_batches_are_cut_at_thirty(au):
    items = [au.invoice_item(f"INV-{n:05d}") for n in range(100, 131)]
    requests = au.ledger.build(items, au.mapping)
    assert [len(r.items) for r in requests] == [30, 1]
    assert [len(r.body["BatchItemRequest"]) for r in requests] == [30, 1]
    # Each item is metered like a call against the 500 a minute: the engine's budget counts them so.
    assert [r.cost for r in requests] == [30, 1]


def test_a_replayed_requestid_creates_once_and_a_new_one_meets_the_duplicate_number(au):
    item = au.invoice_item("INV-00010")
    first = push(au.ledger, [item], au.mapping, key="replay-key-1")
    replay = push(au.ledger, [item], au.mapping, key="replay-key-1")
    assert first[0].remote == replay[0].remote
    assert len(au.documents("Invoice")) == 1
    logged = au.harness.sandbox.control.requests(au.realm, method="POST", path="*/batch")
    assert [r["idempotency_key"] for r in logged][-2:] == ["replay-key-1", "replay-key-1"]
    (conflict,) = push(au.ledger, [item], au.mapping, key="replay-key-2")
    assert isinstance(conflict.error, Conflict) and conflict.error.code == "duplicate"
    assert au.ledger.find_by_number(ObjectKind.INVOICE, "INV-00010") == first[0].remote
    assert au.ledger.find_existing(item) == first[0].remote
    assert au.ledger.find_by_number(ObjectKind.INVOICE, "INV-99999") is None


def test_every_write_carries_a_requestid_and_every_call_minorversion(au, monkeypatch):
    seen: list[tuple[str, dict]] = []
    real = http.send

    def spy(context, method, url, **kwargs):
        seen.append((method, dict(kwargs.get("params") or {})))
        return real(context, method, url, **kwargs)

    monkeypatch.setattr(http, "send", spy)
    push(au.ledger, [au.invoice_item("INV-00011")], au.mapping)
    au.ledger.find_by_number(ObjectKind.INVOICE, "INV-00011")
    assert seen and all(params.get("minorversion") == "75" for _, params in seen)
    assert all(params.get("requestid") for method, params in seen if method == "POST")


def test_payment_partial_and_full_refund(au):
    (invoice,) = push(au.ledger, [au.invoice_item("INV-00020")], au.mapping)  # 1,100.00
    pay = d.payment("500.00", invoice_number="INV-00020")
    before = au.harness.calls(au.realm, method="GET")
    (paid,) = push(
        au.ledger, [SyncItem("pay", ObjectKind.PAYMENT, pay, {"invoice": invoice.remote.id})], au.mapping
    )
    # One read, the company's payment methods (a card payment names one; read once per company), and not
    # the invoice: created here, its customer is known.
    assert au.harness.calls(au.realm, method="GET") == before + 1
    assert paid.error is None and paid.remote.total == Decimal("500.00")
    payment = _by_id(au, "Payment")[paid.remote.id]
    assert payment["DepositToAccountRef"]["value"] == au.harness.clearing_code  # card -> mapped account
    assert payment["PaymentMethodRef"]["value"] == "3"  # the company's "Credit Card"
    assert Decimal(str(_by_id(au, "Invoice")[invoice.remote.id]["Balance"])) == Decimal("600.00")
    lookup = SyncItem("pay", ObjectKind.PAYMENT, pay, {"invoice": invoice.remote.id})
    assert au.ledger.find_existing(lookup).id == paid.remote.id

    ids = {"payment": paid.remote.id, "invoice": invoice.remote.id}
    partial = PaymentReversal("rev", pay, Decimal("100.00"), Decimal("400.00"), pay.date, "refund")
    (reduced,) = push(au.ledger, [SyncItem("rev", ObjectKind.PAYMENT_REVERSAL, partial, ids)], au.mapping)
    assert reduced.done and reduced.error is None and reduced.remote.id == paid.remote.id
    assert Decimal(str(_by_id(au, "Payment")[paid.remote.id]["TotalAmt"])) == Decimal("400.00")
    assert Decimal(str(_by_id(au, "Invoice")[invoice.remote.id]["Balance"])) == Decimal("700.00")
    assert au.ledger.find_existing(SyncItem("rev", ObjectKind.PAYMENT_REVERSAL, partial, ids)) is not None

    chargeback = PaymentReversal("cb", pay, Decimal("400.00"), Decimal("0"), pay.date, "chargeback")
    (deleted,) = push(au.ledger, [SyncItem("cb", ObjectKind.PAYMENT_REVERSAL, chargeback, ids)], au.mapping)
    assert deleted.done and deleted.error is None
    assert paid.remote.id not in _by_id(au, "Payment")
    assert Decimal(str(_by_id(au, "Invoice")[invoice.remote.id]["Balance"])) == Decimal("1100.00")
    assert au.ledger.find_existing(SyncItem("cb", ObjectKind.PAYMENT_REVERSAL, chargeback, ids)) is not None


def test_a_stale_sync_token_is_read_again_and_the_write_retried(au):
    (invoice,) = push(au.ledger, [au.invoice_item("INV-00025")], au.mapping)
    pay = d.payment("500.00", invoice_number="INV-00025")
    (paid,) = push(
        au.ledger, [SyncItem("pay", ObjectKind.PAYMENT, pay, {"invoice": invoice.remote.id})], au.mapping
    )
    reversal = PaymentReversal("rev", pay, Decimal("100.00"), Decimal("400.00"), pay.date, "refund")
    item = SyncItem(
        "rev",
        ObjectKind.PAYMENT_REVERSAL,
        reversal,
        {"payment": paid.remote.id, "invoice": invoice.remote.id},
    )
    (request,) = au.ledger.build([item], au.mapping)
    # Someone edits the payment in QuickBooks after it was read: its SyncToken moves on.
    current = au.ledger.client.get(f"/payment/{paid.remote.id}")["Payment"]
    edit = {
        "Id": current["Id"],
        "SyncToken": current["SyncToken"],
        "sparse": True,
        "PrivateNote": current["PrivateNote"] + " (checked)",
    }
    assert au.ledger.client.write("Payment", edit, "someone-else-1").status == 200
    (outcome,) = au.ledger.read(au.ledger.send(request, "stale-1"), request)
    assert outcome.error is None and outcome.done
    assert Decimal(str(_by_id(au, "Payment")[paid.remote.id]["TotalAmt"])) == Decimal("400.00")


def test_both_cancellations(au):
    (invoice,) = push(au.ledger, [au.invoice_item("INV-00030")], au.mapping)
    pay = d.payment("400.00", invoice_number="INV-00030")
    push(au.ledger, [SyncItem("pay", ObjectKind.PAYMENT, pay, {"invoice": invoice.remote.id})], au.mapping)
    cancel = d.cancellation(d.invoice("INV-00030"), credit="700.00", paid="400.00")
    ids = {"invoice": invoice.remote.id, "contact": au.customer_id}
    (noted,) = push(au.ledger, [SyncItem("cn", ObjectKind.CANCELLATION, cancel, ids)], au.mapping)
    assert not noted.done and noted.error is None
    assert (noted.remote.id, noted.remote.total) == (noted.extra_ids["credit_note"], Decimal("700.00"))
    (applied,) = push(
        au.ledger, [SyncItem("cn", ObjectKind.CANCELLATION, cancel, ids | noted.extra_ids)], au.mapping
    )
    assert applied.done and applied.error is None and applied.remote.number == "CN-00001"
    assert Decimal(str(_by_id(au, "Invoice")[invoice.remote.id]["Balance"])) == 0
    memo = _by_id(au, "CreditMemo")[noted.remote.id]
    assert Decimal(str(memo["RemainingCredit"])) == 0
    assert au.ledger.find_existing(SyncItem("cn", ObjectKind.CANCELLATION, cancel, ids)).id == noted.remote.id

    (unpaid,) = push(au.ledger, [au.invoice_item("INV-00031")], au.mapping)
    void = d.cancellation(d.invoice("INV-00031"), credit="1100.00", paid="0")
    void_item = SyncItem("void", ObjectKind.CANCELLATION, void, {"invoice": unpaid.remote.id})
    (voided,) = push(au.ledger, [void_item], au.mapping)
    assert voided.done and voided.error is None and voided.remote.total == 0
    remote = _by_id(au, "Invoice")[unpaid.remote.id]
    assert Decimal(str(remote["TotalAmt"])) == 0 and remote["PrivateNote"].startswith("Voided")
    assert au.ledger.find_existing(void_item).id == unpaid.remote.id


def _us_invoice(number: str):
    # Two lines at 7.25%: CashFlow rounds tax per line (24.17 + 24.17 = 48.34), QuickBooks' automated sales
    # tax rounds once on the taxable total (666.66 x 7.25% = 48.33).
    lines = (
        d.line("333.33", "24.17", percent="7.25"),
        d.line("333.33", "24.17", percent="7.25", line_type="labour", description="Installation"),
    )
    return d.invoice(number, lines, currency="USD")


def test_a_us_invoice_uses_tax_and_non_and_its_total_equals_cashflows_to_the_cent(qbo):
    ledger = direct_ledger(qbo, "US", custom_txn_numbers=True)
    mapping = qbo.mapping(ledger.load_chart())
    (customer,) = push(ledger, [SyncItem("c", ObjectKind.CUSTOMER, d.customer(1))], mapping)
    invoice = _us_invoice("INV-00040")
    (outcome,) = push(
        ledger, [SyncItem("i", ObjectKind.INVOICE, invoice, {"contact": customer.remote.id})], mapping
    )
    assert outcome.error is None, outcome.error
    assert outcome.remote.total == invoice.total == Decimal("715.00")
    saved = qbo.remote_documents(ledger.client.realm_id, "Invoice")[0]
    codes = [
        line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for line in saved["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    ]
    assert codes == ["TAX", "TAX", "NON"]  # the last one is the one-cent rounding line
    # Its item was made for it, on first use, bound to the invoice's first revenue account.
    items = {i["Name"]: i for i in qbo.remote_documents(ledger.client.realm_id, "Item")}
    assert items["CashFlow rounding"]["IncomeAccountRef"] == items["CashFlow system"]["IncomeAccountRef"]


def test_a_us_company_without_custom_numbers_is_told_to_turn_them_on(qbo):
    ledger = direct_ledger(qbo, "US")
    mapping = qbo.mapping(ledger.load_chart())
    item = SyncItem("i", ObjectKind.INVOICE, _us_invoice("INV-00041"), {"contact": "1"})
    with pytest.raises(NeedsAttention) as raised:
        ledger.build([item], mapping)
    assert raised.value.configuration and "Custom transaction numbers" in raised.value.message


def test_a_company_without_a_zero_code_gets_a_clear_message_when_rounding_needs_one(qbo):
    ledger = direct_ledger(qbo, "CA", custom_txn_numbers=True)
    chart = ledger.load_chart()
    assert ledger.company.zero_code == ""
    mapping = qbo.mapping(chart)
    # HST 13% per line: 0.05 x 13% = 0.0065 -> 0.01, twice in CashFlow; QuickBooks: 0.10 x 13% -> 0.01.
    lines = (d.line("0.05", "0.01", percent="13"), d.line("0.05", "0.01", percent="13"))
    item = SyncItem("i", ObjectKind.INVOICE, d.invoice("INV-00042", lines, currency="CAD"), {"contact": "1"})
    with pytest.raises(NeedsAttention) as raised:
        ledger.build([item], mapping)
    assert raised.value.code == "no_zero_tax_code" and "0% tax code" in raised.value.message


def test_an_inclusive_invoice_keeps_cashflows_total(au):
    lines = (
        d.line("1100.00", "100.00"),
        d.line("55.55", "5.05", line_type="adder", description="Monitoring"),
    )
    (outcome,) = push(au.ledger, [au.invoice_item("INV-00050", lines=lines, inclusive=True)], au.mapping)
    assert outcome.error is None and outcome.remote.total == Decimal("1155.55")


def test_the_preview_builds_the_batch_without_a_call(au):
    before = au.harness.calls(au.realm)
    request = QuickBooksLedger.create_request((au.invoice_item("INV-00070"),), au.mapping)
    assert au.harness.calls(au.realm) == before
    (entry,) = request.body["BatchItemRequest"]
    invoice = entry["Invoice"]
    assert (request.path, entry["operation"], invoice["DocNumber"]) == ("/batch", "create", "INV-00070")
    (line,) = invoice["Line"]
    assert line["SalesItemLineDetail"]["ItemRef"] == {"value": "(the CashFlow system item)"}
    assert line["SalesItemLineDetail"]["TaxCodeRef"] == {"value": au.harness.tax_code}


def test_a_foreign_currency_invoice_is_refused_before_sending_when_multicurrency_is_off(au):
    item = au.invoice_item("INV-00080", currency="USD")
    with pytest.raises(NeedsAttention) as raised:
        au.ledger.build([item], au.mapping)
    assert raised.value.code == "currency_not_enabled" and "AUD" in raised.value.message


def test_fractional_quantities_discount_lines_and_prices_per_watt_keep_cashflows_total(au):
    lines = (
        # 6.5 x 1,234.57 = 8,024.705: CashFlow's 8,024.71 is QuickBooks' Qty x UnitPrice to the cent.
        d.line("8024.71", "802.47", quantity="6.5", unit="1234.57"),
        # 6,400 W at 0.4567 a watt = 2,922.88: a price QuickBooks keeps as UnitPrice.
        d.line("2922.88", "292.29", quantity="6400", unit="0.4567", line_type="adder"),
        # 7 x 33.3333 = 233.3331, which both round to 233.33.
        d.line("233.33", "23.33", quantity="7", unit="33.3333", line_type="permit"),
        d.line("-100.00", "-10.00", line_type="discount", description="Loyalty discount"),
    )
    item = au.invoice_item("INV-00090", lines=lines)
    (outcome,) = push(au.ledger, [item], au.mapping)
    assert outcome.error is None, outcome.error
    assert outcome.remote.total == item.document.total == Decimal("12189.01")
    (saved,) = [i for i in au.documents("Invoice") if i["DocNumber"] == "INV-00090"]
    details = [ln["SalesItemLineDetail"] for ln in saved["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert [(Decimal(str(x["Qty"])), Decimal(str(x["UnitPrice"]))) for x in details][:3] == [
        (Decimal("6.5"), Decimal("1234.57")),
        (Decimal("6400"), Decimal("0.4567")),
        (Decimal("7"), Decimal("33.3333")),
    ]


def test_a_customer_without_email_lost_after_commit_is_found_under_its_suffixed_name(au):
    original = SyncItem("n", ObjectKind.CUSTOMER, d.customer(5, name="Customer 1", email=""))
    (to_create,) = au.ledger.resolve_customers([original]).to_create
    control = au.harness.sandbox.control
    control.set_faults({"kind": "drop_after_commit", "tenant_id": au.realm, "path": "*/batch", "count": 1})
    try:
        with pytest.raises(UnknownOutcome):
            push(au.ledger, [to_create], au.mapping)
    finally:
        control.clear_faults()
    found = au.ledger.find_existing(original)  # the engine looks up the record's own document
    assert found is not None and found.id != au.customer_id
    assert found.number == "Customer 1 (cust-5)"


def test_a_us_invoice_taxed_at_another_rate_than_the_jurisdictions_is_refused_before_sending(qbo):
    ledger = direct_ledger(qbo, "US", custom_txn_numbers=True)
    mapping = qbo.mapping(ledger.load_chart())
    invoice = d.invoice("INV-00043", (d.line("1000.00", "100.00", percent="10"),), currency="USD")
    with pytest.raises(NeedsAttention) as raised:
        ledger.build([SyncItem("i", ObjectKind.INVOICE, invoice, {"contact": "1"})], mapping)
    assert raised.value.code == "tax_differs" and "72.50" in raised.value.message
