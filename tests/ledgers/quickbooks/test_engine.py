"""What only QuickBooks asks of the engine, end to end against its sandbox (the rest runs for every ledger
from tests/sync/test_books_agree.py and test_faults.py): reads made while building a write, and the US
company's automated sales tax, whose own arithmetic the connector reconciles to CashFlow's total."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sync.conftest import issue
from sync.ledger_world import COMPANIES, LedgerWorld, start_world

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.errors import NAME_RACE
from ledgerlink.ledgers.quickbooks import contacts
from ledgerlink.ledgers.quickbooks.client import QuickBooksClient
from ledgerlink.ledgers.quickbooks.contacts import EVERY_STATUS
from ledgerlink.ledgers.registry import open_ledger
from ledgerlink.ledgers.tokens import ensure_fresh_token
from ledgerlink.sync import worker
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import Attempt, SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

pytestmark = pytest.mark.xdist_group("xero-sandbox")


@pytest.fixture
def world(request, db, settings):
    yield from start_world(request, settings, COMPANIES["quickbooks-au"])


@pytest.fixture
def us_world(request, db, settings):
    yield from start_world(request, settings, COMPANIES["quickbooks-us"])


def remote_invoice(world: LedgerWorld, number: str) -> dict:
    (found,) = [
        i for i in world.harness.remote_documents(world.tenant_id, "Invoice") if i["DocNumber"] == number
    ]
    return found


def test_a_transient_failure_while_building_is_retried_not_flagged(world):
    """QuickBooks reads while building (a payment's SyncToken before editing it): a 500 on that read wrote
    nothing, so the record waits and goes again instead of asking the user for attention."""
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.refund_payment(payment, Decimal("100.00"))
    world.harness.sandbox.control.set_faults(
        {
            "kind": "server_error",
            "tenant_id": world.tenant_id,
            "method": "GET",
            "path": "*/payment/*",
            "count": 1,
        }
    )
    sync_connection(world.connection.pk, budget_s=30)
    reversal = SyncRecord.objects.get(kind=ObjectKind.PAYMENT_REVERSAL)
    assert reversal.state == SyncState.RETRYING, reversal.last_error
    world.drain()
    assert world.all_synced()
    assert Decimal(str(remote_invoice(world, invoice.number)["Balance"])) == Decimal("500.00")


def test_a_delete_whose_answer_was_lost_is_settled_by_looking_it_up_not_flagged(world):
    """Found by the reliability campaign (`make chaos`): a chargeback deletes the payment, QuickBooks commits
    the delete and the answer is lost. Replaying the request means building it again, which reads the
    payment first, and the payment is gone (610): that was flagged to the user as a mapping problem, and
    the invoice's cancellation queued behind it never reached QuickBooks. Gone is what the delete wanted:
    the record in doubt is settled by asking the ledger, as after any unknown outcome."""
    invoice = world.issue("1000.00")
    payment = services.record_payment(invoice, Decimal("600.00"), "card")
    world.drain()
    services.charge_back(payment)
    services.cancel_invoice(Invoice.objects.get(pk=invoice.pk))
    world.harness.sandbox.control.set_faults(
        {
            "kind": "drop_after_commit",
            "tenant_id": world.tenant_id,
            "method": "POST",
            "path": "*/payment",
            "count": 1,
        }
    )
    world.drain()
    assert world.all_synced()
    assert world.harness.remote_documents(world.tenant_id, "Payment") == []
    voided = remote_invoice(world, invoice.number)
    assert Decimal(str(voided["TotalAmt"])) == 0 and voided["PrivateNote"].startswith("Voided")


def test_a_us_invoice_keeps_cashflows_total_beside_quickbooks_own_sales_tax(us_world):
    # CashFlow: 24.17 + 24.17 = 48.34 tax, a line at a time; QuickBooks' automated sales tax on 666.66: 48.33.
    lines = [
        services.LineInput("system", f"Panel bank {n}", Decimal(1), Decimal("333.33"), us_world.gst.id)
        for n in range(2)
    ]
    invoice = us_world.issue_lines(lines)
    services.record_payment(invoice, Decimal("715.00"), "bank_transfer")
    us_world.drain()
    assert us_world.all_synced()
    remote = remote_invoice(us_world, invoice.number)
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("715.00")
    assert Decimal(str(remote["Balance"])) == 0
    assert Decimal(str(remote["TxnTaxDetail"]["TotalTax"])) == Decimal("48.33")


# --- A backfill's reads: each once per company, not per claim -------------------------------------------

FIRST_CUSTOMERS = 60  # more than one IN list (50): the first claim reads the company's customers once
LATE_CUSTOMERS = 2  # a tail claim's few, all from the push


def _backlog(organisation, gst) -> None:
    """60 customers with an invoice each, then 2 more whose invoices are paid (one by card, which names a
    PaymentMethod, one by bank transfer): issued before the connection, so a historical push carries them."""
    customers = [
        services.create_customer(
            organisation, services.CustomerInput(name=f"Backfill {n:03}", email=f"b{n:03}@example.com")
        )
        for n in range(FIRST_CUSTOMERS + LATE_CUSTOMERS)
    ]
    for n, customer in enumerate(customers):
        invoice = issue(organisation, customer, gst, f"{1000 + n}.00")
        if n >= FIRST_CUSTOMERS:
            method = "card" if n % 2 else "bank_transfer"
            services.record_payment(invoice, Decimal("100.00"), method)


@pytest.fixture
def backfill_world(request, db, settings):
    yield from start_world(request, settings, COMPANIES["quickbooks-au"], before_connect=_backlog)


@pytest.fixture
def queries(monkeypatch) -> list[tuple[str, str]]:
    """Every query the connector sends, as (entity, condition), while it still goes to the sandbox."""
    seen: list[tuple[str, str]] = []
    real = QuickBooksClient.query

    def counted(self, entity: str, where: str = "", noun: str = "look-up") -> list:
        seen.append((entity, where))
        return real(self, entity, where, noun)

    monkeypatch.setattr(QuickBooksClient, "query", counted)
    return seen


def test_a_backfill_reads_the_companys_settings_items_and_customers_once_whatever_its_claims(
    backfill_world, queries, monkeypatch
):
    """Claims of 120 records: the first holds the 60 first customers and their invoices, the second the 2
    late customers, their invoices and payments. Each claim builds its own ledger; the company's
    preferences and tax tables (read when it connected), its items and its customers are read once for
    all of them, and the tail claim of 2 customers is matched from the copy the first read."""
    world = backfill_world
    monkeypatch.setattr(worker, "CLAIM_BATCH", 2 * FIRST_CUSTOMERS)
    connected = world.harness.calls(world.tenant_id)
    push = start_push(world.organisation.pk, Selection())
    assert push.total == FIRST_CUSTOMERS + LATE_CUSTOMERS
    world.drain()
    assert world.all_synced()
    assert len(world.numbers()) == FIRST_CUSTOMERS + LATE_CUSTOMERS
    customers = world.harness.remote_documents(world.tenant_id, "Customer")
    assert len(customers) == FIRST_CUSTOMERS + LATE_CUSTOMERS  # each once: none matched wrongly, none twice

    control = world.harness.sandbox.control
    assert control.count(world.tenant_id, method="GET", path="*/preferences") == 1  # when it connected
    read = Counter(entity for entity, _ in queries)
    # The customers (any status) once (no name was refused, so no vendors' or employees' names); the items
    # once; the payment methods once, for the card payment; no tax tables again; no customer asked about
    # one by one.
    assert read == {"Customer": 1, "Item": 1, "PaymentMethod": 1}
    assert all(where == EVERY_STATUS for entity, where in queries if entity in contacts.NAME_HOLDERS)
    # Batches: customers 30 + 30 + 2, invoices 30 + 30 + 2, the 2 payments; one item made (no invoice
    # needed a tax rounding line, so no rounding item).
    assert control.count(world.tenant_id, method="POST", path="*/batch") == 7
    assert control.count(world.tenant_id, method="POST", path="*/item") == 1
    assert world.harness.calls(world.tenant_id) - connected == 7 + 1 + 3  # batches, the item, three reads


def test_a_live_sync_asks_quickbooks_exactly_even_while_a_backfills_copy_is_held(backfill_world, queries):
    """After the push, with a copy of the company's customers held (a finished push's is dropped, so one is
    kept as a push still running in this worker would hold it), the bookkeeper adds a customer in
    QuickBooks; CashFlow then invoices a customer of the same email: the live claim asks QuickBooks by
    email, finds the bookkeeper's customer and links it, never making a second."""
    world = backfill_world
    start_push(world.organisation.pk, Selection())
    world.drain()
    assert contacts.BOOKS.get(world.tenant_id) is None  # released once nothing was left to sync
    contacts.BOOKS.keep(world.tenant_id, world.harness.remote_documents(world.tenant_id, "Customer"))
    body = {"DisplayName": "Grace Hopper (books)", "PrimaryEmailAddr": {"Address": "grace@example.com"}}
    ledger = open_ledger(ensure_fresh_token(world.connection.pk))
    theirs = ledger.client.write("Customer", body, "added-by-the-bookkeeper").body["Customer"]["Id"]
    grace = services.create_customer(
        world.organisation, services.CustomerInput(name="Grace Hopper", email="grace@example.com")
    )
    queries.clear()
    invoice = issue(world.organisation, grace, world.gst, "990.00")
    world.drain()
    assert world.all_synced()
    assert [e for e, where in queries if e == "Customer"] == ["Customer"]
    assert "PrimaryEmailAddr.Address IN ('grace@example.com')" in queries[0][1]
    graces = [
        c for c in world.harness.remote_documents(world.tenant_id, "Customer") if "Grace" in c["DisplayName"]
    ]
    assert [c["Id"] for c in graces] == [theirs]
    assert remote_invoice(world, invoice.number)["CustomerRef"]["value"] == theirs


def test_a_customer_named_like_a_vendor_is_refused_once_then_synced_under_a_name_that_differs(world):
    """Names are checked among QuickBooks' customers alone until one is refused: CashFlow's "Sunny Supplies"
    (a seeded vendor's name) is refused (6240), goes again at once, now checked against vendors too, and is
    made once under a name that tells it apart; nobody is asked to fix anything."""
    sunny = services.create_customer(
        world.organisation, services.CustomerInput(name="Sunny Supplies", email="sunny@example.com")
    )
    invoice = world.issue("220.00", customer=sunny)
    world.drain()
    assert world.all_synced()
    (refused,) = Attempt.objects.filter(connection=world.connection, error_message__contains=NAME_RACE)
    assert refused.records.get().kind == ObjectKind.CUSTOMER
    named = "Sunny Supplies (sunny@example.com)"
    names = [c["DisplayName"] for c in world.harness.remote_documents(world.tenant_id, "Customer")]
    assert names.count(named) == 1 and "Sunny Supplies" not in names
    assert remote_invoice(world, invoice.number)["CustomerRef"]["name"] == named
