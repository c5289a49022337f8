"""Historical sync against the Xero sandbox: hundreds of invoices issued before the connection, pushed with
their payments and cancellations in full batches, resumable, counted from the sandbox's request log."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Customer, Invoice
from ledgerlink.ledgers.xero.contacts import BOOKS as CONTACT_BOOKS
from ledgerlink.sync import worker
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import HistoricalPush, SyncRecord, SyncState

from .conftest import issue
from .xero_world import build_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")

INVOICES = 300
CUSTOMERS = 60


def backlog(organisation, gst, _customer, invoices: int = INVOICES) -> None:
    """Eighteen months of a small installer: 300 invoices for 60 customers, a third paid, a few cancelled."""
    customers = [
        services.create_customer(
            organisation, services.CustomerInput(name=f"Customer {n:03}", email=f"c{n:03}@example.com")
        )
        for n in range(min(CUSTOMERS, invoices))
    ]
    start = dt.date.today() - dt.timedelta(days=540)
    for n in range(invoices):
        invoice = issue(organisation, customers[n % len(customers)], gst, f"{1000 + n}.{n % 100:02}",
                        issue_date=start + dt.timedelta(days=n))  # fmt: skip
        if n % 3 == 0:
            services.record_payment(invoice, Decimal("100.00"), "card", received_on=invoice.issue_date)
        elif n % 50 == 1:
            services.cancel_invoice(invoice)


@pytest.fixture
def world(db, settings, xero_sandbox):
    return build_world(settings, xero_sandbox, before_connect=backlog)


@pytest.fixture
def small_world(db, settings, xero_sandbox):
    return build_world(settings, xero_sandbox, before_connect=lambda *a: backlog(*a, invoices=40))


def test_three_hundred_invoices_cost_a_few_dozen_calls_and_land_once(world):
    assert not SyncRecord.objects.exists()  # issued before the connection: nothing goes by itself
    started = time.monotonic()
    push = start_push(world.organisation.pk, Selection())
    assert push.total == INVOICES
    world.drain()
    elapsed = time.monotonic() - started
    push.refresh_from_db()
    assert (push.state, push.done, push.failed) == (HistoricalPush.State.DONE, INVOICES, 0)
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}

    books = world.by_number()
    ours = {i.number: i for i in Invoice.objects.filter(organisation=world.organisation)}
    assert sorted(books) == sorted(ours)
    for number, invoice in ours.items():
        assert Decimal(str(books[number]["Total"])) == invoice.total, number
        assert Decimal(str(books[number]["AmountPaid"])) == invoice.amount_paid, number
    cancelled = [n for n, i in ours.items() if i.status == "cancelled"]
    assert cancelled and sorted(n for n, i in books.items() if i["Status"] == "VOIDED") == sorted(cancelled)

    invoice_calls = len(world.writes("*/invoices"))
    contact_calls = len(world.writes("*/contacts"))
    payment_calls = len(world.writes("*/payments"))
    lookups = len(world.control.requests(world.tenant_id, method="GET", path="*/contacts"))
    assert invoice_calls == INVOICES // 50  # packed 50 to a call
    assert contact_calls == -(-CUSTOMERS // 50) and lookups <= 2
    assert payment_calls == 2  # 100 payments
    all_calls = world.control.count(world.tenant_id)
    print(f"\nhistory push: {INVOICES} invoices, {all_calls} calls in all "
          f"({all_calls / INVOICES:.3f} per invoice), {elapsed:.1f}s")  # fmt: skip


def test_a_push_is_resumable_and_never_queues_twice(small_world):
    world = small_world
    first = start_push(world.organisation.pk, Selection(date_to=dt.date.today() - dt.timedelta(days=520)))
    assert 0 < first.total < 40
    world.drain()
    again = start_push(world.organisation.pk, Selection())
    world.drain()
    again.refresh_from_db()
    first.refresh_from_db()
    assert first.state == again.state == HistoricalPush.State.DONE
    assert (first.done, again.done) == (first.total, 40 - first.total)  # the second queued only the rest
    assert again.total == again.done
    assert len(world.by_number()) == 40


def test_the_cli_pushes_chosen_invoices_with_a_progress_bar(small_world, capsys):
    world = small_world
    chosen = list(Invoice.objects.order_by("number").values_list("id", flat=True)[:3])
    call_command("push-history", str(world.organisation.pk), "--ids", *map(str, chosen))
    out = capsys.readouterr().out
    assert "3 invoice(s) selected" in out and "done: 3 synced" in out
    assert len(world.by_number()) == 3


def test_batches_fill_across_claims(small_world, monkeypatch):
    """Claims of 10 records (customers, invoices and payments interleaved) still send each kind in one full
    request: a claim's part-filled batch waits, still leased, for the next claim's records of its kind, and
    what depends on it waits for it. Every object lands once."""
    monkeypatch.setattr(worker, "CLAIM_BATCH", 10)
    start_push(small_world.organisation.pk, Selection())
    small_world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    assert not SyncRecord.objects.exclude(lease_owner="").exists()
    books = small_world.by_number()
    ours = {i.number: i for i in Invoice.objects.filter(organisation=small_world.organisation)}
    assert sorted(books) == sorted(ours)
    for number, invoice in ours.items():
        assert Decimal(str(books[number]["AmountPaid"])) == invoice.amount_paid, number
    # 40 customers, 40 invoices and 14 payments: one request each, as if claimed at once.
    assert len(small_world.writes("*/contacts")) == 1
    assert len(small_world.writes("*/invoices")) == 1
    assert len(small_world.writes("*/payments")) == 1


def test_a_backfill_reads_the_contacts_once_across_its_claims(world, monkeypatch):
    """Claims of 50 records spread the 60 customers over several claims of about twenty, most more than
    one where= filter's worth: the first claim reads every contact (one page), the later ones match from
    that copy, kept current with the contacts the push itself created. No contact is created twice. Once
    nothing is left to sync the copy is dropped: a finished backfill's stays in no worker."""
    monkeypatch.setattr(worker, "CLAIM_BATCH", 50)
    start_push(world.organisation.pk, Selection())
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    assert world.tenant_id not in CONTACT_BOOKS.tenants()
    # One read of every contact, for all the claims: the last, a few of the same push's customers, matches
    # from the copy the first read too (a live sync of a few would still ask Xero with one exact filter).
    reads = world.control.requests(world.tenant_id, method="GET", path="*/contacts")
    assert len(reads) == 1, [r["path"] for r in reads]
    in_ledger = Counter(str(c.get("EmailAddress", "")).lower() for c in world.ledger()["Contacts"])
    ours = (  # the world's own customer has no invoice in the backlog, so stays out of the ledger
        Customer.objects.filter(organisation=world.organisation)
        .exclude(pk=world.customer.pk)
        .values_list("email", flat=True)
    )
    assert {in_ledger[email.lower()] for email in ours} == {1}
