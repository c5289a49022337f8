"""The cashflow management commands: create-organisation, create-api-key, seed-demo."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.demo import AlreadySeeded, seed_demo
from ledgerlink.cashflow.models import (
    DomainEvent,
    Invoice,
    InvoiceLine,
    LineType,
    Membership,
    Organisation,
    Payment,
    PaymentMethod,
    PaymentReversal,
    ReversalKind,
)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_organisation_prints_its_id_with_country_defaults(db):
    printed = _run("create-organisation", "--name", "Kiwi Sun Ltd", "--country", "NZ")
    organisation = Organisation.objects.get(pk=uuid.UUID(printed))
    assert (organisation.name, organisation.home_currency, organisation.time_zone) == (
        "Kiwi Sun Ltd",
        "NZD",
        "Pacific/Auckland",
    )


def test_create_organisation_refuses_bad_input(db):
    with pytest.raises(CommandError):
        _run("create-organisation", "--name", "X", "--country", "FR")
    with pytest.raises(CommandError, match="time_zone"):
        _run("create-organisation", "--name", "X", "--country", "AU", "--time-zone", "Mars/Olympus")
    assert not Organisation.objects.exists()


def test_create_api_key_prints_a_working_key_once(db):
    organisation_id = _run("create-organisation", "--name", "Keys Ltd", "--country", "GB")
    key = _run("create-api-key", organisation_id)
    api_key = apikeys.authenticate(key)
    assert api_key is not None and str(api_key.organisation_id) == organisation_id
    assert key not in api_key.hashed_key
    with pytest.raises(CommandError, match="No organisation"):
        _run("create-api-key", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="No organisation"):
        _run("create-api-key", "not-a-uuid")
    assert "Revoked" in _run("revoke-api-key", key)
    assert apikeys.authenticate(key) is None
    with pytest.raises(CommandError, match="No API key"):
        _run("revoke-api-key", "nope")


def test_seed_demo_covers_the_taxonomy_and_refuses_to_seed_twice(db):
    output = _run("seed-demo", "--projects", "12")
    assert output.count("API key (shown once): llk_") == 3 and "Log in as demo / " in output
    countries = set(Organisation.objects.values_list("country", flat=True))
    assert countries == {"US", "AU", "GB"}
    assert set(InvoiceLine.objects.values_list("line_type", flat=True)) == set(LineType.values)
    assert set(Payment.objects.values_list("method", flat=True)) == set(PaymentMethod.values)
    for organisation in Organisation.objects.all():
        kinds = set(PaymentReversal.objects.filter(organisation=organisation).values_list("kind", flat=True))
        assert kinds == set(ReversalKind.values)
    assert set(Invoice.objects.values_list("tax_inclusive", flat=True)) == {True, False}
    assert set(Invoice.objects.values_list("status", flat=True)) == {
        "draft",
        "issued",
        "part_paid",
        "paid",
        "cancelled",
    }
    assert Membership.objects.filter(user__username="demo", role="admin").count() == 3
    # Every invoice is internally consistent.
    for invoice in Invoice.objects.prefetch_related("lines"):
        lines = list(invoice.lines.all())
        assert invoice.tax_minor == sum(line.tax_minor for line in lines)
        assert invoice.total_minor >= 0 and 0 <= invoice.amount_paid_minor <= invoice.total_minor
    before = (Organisation.objects.count(), Invoice.objects.count(), DomainEvent.objects.count())
    assert _run("seed-demo") == "The demo organisations already exist; nothing was changed."
    assert (Organisation.objects.count(), Invoice.objects.count(), DomainEvent.objects.count()) == before


def _signature() -> list[tuple]:
    rows = Invoice.objects.values_list(
        "organisation__name", "number", "status", "total_minor", "amount_paid_minor", "issue_date"
    )
    return sorted(tuple(map(str, row)) for row in rows)


def test_seed_demo_is_deterministic(db):
    signatures = []
    for _ in range(2):
        with transaction.atomic():
            seed_demo(projects_per_organisation=6, seed=7)
            signatures.append(_signature())
            transaction.set_rollback(True)
    assert signatures[0] == signatures[1] and len(signatures[0]) > 20
    seed_demo(projects_per_organisation=1)
    with pytest.raises(AlreadySeeded):
        seed_demo(projects_per_organisation=1)


@pytest.mark.parametrize("utc_hour", [2, 23])
def test_seed_demo_dates_by_each_organisations_own_calendar(db, monkeypatch, utc_hour):
    """At 02:00 UTC it is still yesterday in New York, at 23:00 UTC already tomorrow in Sydney: the demo
    must date payments by each organisation's day, or the services rightly refuse future dates."""
    fixed = dt.datetime.combine(dt.date.today(), dt.time(utc_hour), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    result = seed_demo(projects_per_organisation=4)
    for organisation in result.organisations:
        today = services.organisation_today(organisation)
        issued = Invoice.objects.filter(organisation=organisation, issue_date__isnull=False)
        assert max(issued.values_list("issue_date", flat=True)) <= today
        assert (
            max(Payment.objects.filter(organisation=organisation).values_list("received_on", flat=True))
            <= today
        )
