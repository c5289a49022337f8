"""Error kinds and injected faults end to end against the Xero sandbox: every test ends by checking the
sandbox's books hold each CashFlow object exactly once, to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from ledgerlink.cashflow import services
from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.models import ConnectionStatus, TaxRateMapping
from ledgerlink.sync.history import Selection, start_push
from ledgerlink.sync.models import RemoteLink, SyncRecord, SyncState, TenantBudget
from ledgerlink.sync.requeue import retry_failed

from .conftest import issue
from .xero_world import build_world, connect_through_views, map_from_suggestion

pytestmark = pytest.mark.xdist_group("xero-sandbox")


def time_passes() -> None:
    """Backoffs and pauses run out (the tests do not wait a real minute for a Retry-After)."""
    TenantBudget.objects.update(paused_until=None)
    SyncRecord.objects.filter(state__in=(SyncState.RETRYING, SyncState.PENDING)).update(
        next_attempt_at=timezone.now()
    )


def states() -> set[str]:
    return set(SyncRecord.objects.values_list("state", flat=True))


def test_unmapped_tax_rate_costs_no_invoice_call_and_mapping_it_sends_it(db, settings, xero_sandbox):
    world = build_world(settings, xero_sandbox, mapped=False)
    invoice = issue(world.organisation, world.customer, world.gst, "220.00")
    world.drain()
    held = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert held.state == SyncState.NEEDS_ATTENTION and held.error_is_configuration
    assert "GST 10%" in held.last_error
    assert world.writes("*/invoices") == []
    world.drain()
    assert world.writes("*/invoices") == []  # waiting for the user costs nothing

    map_from_suggestion(world.connection, world.gst)  # the mapping change re-queues it
    world.drain()
    assert SyncRecord.objects.get(kind=ObjectKind.INVOICE).state == SyncState.SYNCED
    assert Decimal(str(world.by_number()[invoice.number]["Total"])) == Decimal("220.00")


def test_an_archived_account_in_the_mapping_is_caught_before_any_call(world):
    archived = next(a for a in world.ledger_chart().accounts if a.status == "ARCHIVED")
    TaxRateMapping.objects.filter(tax_rate=world.gst).update(
        account_id=archived.id, account_code=archived.code
    )
    issue(world.organisation, world.customer, world.gst)
    world.drain()
    held = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert held.state == SyncState.NEEDS_ATTENTION and "archived" in held.last_error
    assert world.writes("*/invoices") == []


def test_a_revoked_grant_pauses_until_the_user_reconnects(world):
    world.control.revoke_tokens(client_id=world.app.client_id)
    world.connection.access_expires_at = timezone.now()  # the next call must refresh: invalid_grant
    world.connection.save(update_fields=["access_expires_at"])
    invoice = issue(world.organisation, world.customer, world.gst, "99.99")
    world.drain()
    world.connection.refresh_from_db()
    assert world.connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert states() == {SyncState.PAUSED}
    assert world.invoices() == []

    connect_through_views(Client(), world.sandbox, world.app, world.organisation, world.tenant_id)
    world.drain()
    assert states() == {SyncState.SYNCED}
    assert Decimal(str(world.by_number()[invoice.number]["Total"])) == Decimal("99.99")


def test_a_429_storm_is_waited_out_and_the_invoice_lands_once(world):
    world.control.set_faults(
        {"kind": "rate_limit", "count": 3, "tenant_id": world.tenant_id, "path": "*/invoices"}
    )
    invoice = issue(world.organisation, world.customer, world.gst)
    world.drain()
    assert SyncRecord.objects.get(kind=ObjectKind.INVOICE).state == SyncState.RETRYING
    assert world.drain()[0].calls == 0  # paused for Retry-After: no call goes out
    for _ in range(4):
        time_passes()
        world.drain()
    assert states() == {SyncState.SYNCED}
    assert [r["status"] for r in world.writes("*/invoices")] == [429, 429, 429, 200]
    assert list(world.by_number()) == [invoice.number]


def test_an_organisation_offline_is_retried_after_it_returns(world):
    world.control.set_faults({"kind": "offline", "tenant_id": world.tenant_id, "duration_s": 3600})
    invoice = issue(world.organisation, world.customer, world.gst)
    world.drain()
    record = SyncRecord.objects.get(kind=ObjectKind.CUSTOMER)
    assert record.state == SyncState.RETRYING and "offline" in record.last_error
    world.control.clear_faults()
    time_passes()
    world.drain()
    assert states() == {SyncState.SYNCED}
    assert list(world.by_number()) == [invoice.number]


@pytest.mark.parametrize("path", ["*/invoices", "*/payments"])
def test_an_answer_dropped_after_commit_is_replayed_without_a_duplicate(world, path):
    invoices = [issue(world.organisation, world.customer, world.gst, f"{100 + n}.00") for n in range(3)]
    for invoice in invoices:
        services.record_payment(invoice, Decimal("10.00"), "card")
    world.control.set_faults(
        {"kind": "drop_after_commit", "count": 1, "method": "PUT", "tenant_id": world.tenant_id, "path": path}
    )
    world.drain()
    time_passes()
    world.drain()
    assert states() == {SyncState.SYNCED}
    sends = world.writes(path)
    assert len(sends) == 2 and sends[0]["idempotency_key"] == sends[1]["idempotency_key"]
    assert sends[1]["replayed"]
    books = world.by_number()
    assert sorted(books) == sorted(i.number for i in invoices)
    assert all(Decimal(str(books[i.number]["AmountPaid"])) == Decimal("10.00") for i in invoices)
    live_payments = [p for p in world.ledger()["Payments"] if p["Status"] == "AUTHORISED"]
    assert len(live_payments) == 3


def test_after_the_key_expired_a_dropped_invoice_is_found_not_sent_again(world):
    invoice = issue(world.organisation, world.customer, world.gst)
    world.control.set_faults(
        {
            "kind": "drop_after_commit",
            "count": 1,
            "method": "PUT",
            "tenant_id": world.tenant_id,
            "path": "*/invoices",
        }
    )
    world.drain(rounds=1)  # one run: the answer is lost, the invoice waits in doubt
    assert SyncRecord.objects.get(kind=ObjectKind.INVOICE).unknown_outcome_since is not None
    world.control.advance_clock(7 * 60)  # Xero forgets the key after 6 minutes (xero.md 4)
    SyncRecord.objects.filter(unknown_outcome_since__isnull=False).update(
        unknown_outcome_since=F("unknown_outcome_since") - dt.timedelta(minutes=7)
    )
    time_passes()
    world.drain()
    assert SyncRecord.objects.get(kind=ObjectKind.INVOICE).state == SyncState.SYNCED
    assert len(world.writes("*/invoices")) == 1
    assert list(world.by_number()) == [invoice.number]


def test_an_invoice_already_in_xero_is_linked_not_duplicated(world):
    invoice = issue(world.organisation, world.customer, world.gst, "555.55")
    world.drain()
    xero_id = world.by_number()[invoice.number]["InvoiceID"]
    # Local state lost (a restore from backup): the engine sends again and Xero says the number exists.
    RemoteLink.objects.filter(subject_type="invoice").delete()
    SyncRecord.objects.filter(kind=ObjectKind.INVOICE).update(
        state=SyncState.PENDING, remote_id="", generation=5
    )
    world.drain()
    relinked = SyncRecord.objects.get(kind=ObjectKind.INVOICE)
    assert relinked.state == SyncState.SYNCED and relinked.remote_id == xero_id
    assert list(world.by_number()) == [invoice.number]


def test_xeros_data_error_holds_only_that_invoice_and_a_retry_sends_it_once_fixed(db, settings, xero_sandbox):
    lock = timezone.localdate() - dt.timedelta(days=30)
    old_date = lock - dt.timedelta(days=10)

    def backlog(organisation, gst, customer) -> None:
        issue(organisation, customer, gst, "400.00", issue_date=old_date)  # inside the locked period

    world = build_world(settings, xero_sandbox, before_connect=backlog,
                        tenant_settings={"lock_date": lock.isoformat()})  # fmt: skip
    fresh = issue(world.organisation, world.customer, world.gst, "500.00")
    start_push(world.organisation.pk, Selection())
    world.drain()
    held = SyncRecord.objects.get(kind=ObjectKind.INVOICE, history_push__isnull=False)
    assert held.state == SyncState.NEEDS_ATTENTION and not held.error_is_configuration
    assert "lock date" in held.last_error
    assert list(world.by_number()) == [fresh.number]  # the good one in the same batch went through

    world.control._call(
        "POST", f"/tenants/{world.tenant_id}/settings", {"lock_date": None}
    )  # accountant unlocks
    assert retry_failed(world.organisation) == 1
    world.drain()
    assert set(SyncRecord.objects.values_list("state", flat=True)) == {SyncState.SYNCED}
    assert len(world.by_number()) == 2
