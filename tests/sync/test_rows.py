"""Rows read and written by prepared statements (sync/rows.py) hold what the ORM holds, on both databases:
JSON lists and maps, aware datetimes, nulls, floats; a write changes its own row and no other."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ledgerlink.sync.models import TenantBudget
from ledgerlink.sync.rows import Rows

pytestmark = pytest.mark.django_db(transaction=True)

budgets = Rows(TenantBudget, key=("provider", "tenant_id"))
DAY_START = dt.datetime(2026, 11, 25, 9, 30, 15, 250000, tzinfo=dt.UTC)


def fields(budget: TenantBudget) -> dict[str, object]:
    return {field.attname: getattr(budget, field.attname) for field in TenantBudget._meta.concrete_fields}


def test_a_row_reads_as_the_orm_reads_it() -> None:
    stored = TenantBudget.objects.create(
        provider="quickbooks",
        tenant_id="realm-1",
        minute_calls=[[1764063015.5, 30], [1764063019.25, 12]],
        day_started_at=DAY_START,
        day_count=42,
        in_flight={"owner:1": 1764063195.5},
        paused_until=None,
        minute_remaining=None,
        day_remaining=9958,
        minute_reported_sent_at=1764063019.25,
        minute_reports=[[1.0, 2.0, 57]],
        window_end=None,
        window_end_error_s=0.75,
        probe_at=None,
    )
    read = budgets.get("quickbooks", "realm-1")
    assert read is not None
    assert fields(read) == fields(TenantBudget.objects.get(pk=stored.pk))
    assert read.day_started_at == DAY_START and read.day_started_at.tzinfo is not None
    assert not read._state.adding  # a row from the database, as the ORM's are


def test_a_missing_key_reads_as_none() -> None:
    TenantBudget.objects.create(provider="xero", tenant_id="t1")
    assert budgets.get("xero", "t2") is None
    assert budgets.get("quickbooks", "t1") is None


def test_a_write_changes_its_own_row_only() -> None:
    mine = TenantBudget.objects.create(provider="xero", tenant_id="t1", day_started_at=DAY_START)
    other = TenantBudget.objects.create(provider="xero", tenant_id="t2", day_started_at=DAY_START)
    with transaction.atomic():
        budget = budgets.get("xero", "t1", lock=True)
        assert budget is not None
        budget.minute_calls = [[5.0, 1]]
        budget.in_flight = {"w:7": 99.5}
        budget.paused_until = DAY_START + dt.timedelta(seconds=42.5)
        budget.minute_remaining = 0
        budget.window_end = 1764063075.125
        budget.day_count = 3
        budgets.save(budget)
    mine.refresh_from_db()
    assert (mine.minute_calls, mine.in_flight, mine.minute_remaining, mine.day_count) == (
        [[5.0, 1]],
        {"w:7": 99.5},
        0,
        3,
    )
    assert mine.paused_until == DAY_START + dt.timedelta(seconds=42.5)
    assert mine.window_end == 1764063075.125
    before = fields(other)
    other.refresh_from_db()
    assert fields(other) == before
