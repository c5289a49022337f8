"""Two schedulers at once never bill a month twice: two threads and two `ledgerlink run-billing` processes on
PostgreSQL, and two processes on an embedded SQLite file (WAL, IMMEDIATE transactions)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core import mail
from django.db import connection, connections

from ledgerlink.billing import rules, services
from ledgerlink.billing.models import BillingInvoice
from ledgerlink.billing.scheduler import BillingRun, run_billing

from .helpers import local_noon, make_organisation, make_user

REPO = Path(__file__).resolve().parents[2]
ORGANISATIONS = 24
ZONES = ["Pacific/Auckland", "Australia/Sydney", "Europe/London", "America/Los_Angeles"]
ENABLED_ON, UNTIL = date(2026, 11, 24), date(2027, 6, 15)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs a server database; SQLite is covered by the embedded-file test below",
)


def enable_many(enabled_on: date) -> list:
    """ORGANISATIONS organisations across zones, all enabled on the same local date."""
    organisations = []
    for n in range(ORGANISATIONS):
        zone = ZONES[n % len(ZONES)]
        organisation = make_organisation(zone, "USD", "US")
        services.enable_connector(
            organisation, make_user(organisation), None, "", now=local_noon(enabled_on, zone)
        )
        organisations.append(organisation)
    return organisations


def assert_billed_exactly_once(organisations, enabled_on: date, until: date) -> int:
    expected = rules.billing_dates(enabled_on, until)
    for organisation in organisations:
        got = list(
            BillingInvoice.objects.filter(organisation=organisation)
            .order_by("period_start")
            .values_list("period_start", flat=True)
        )
        assert got == expected
    numbers = list(BillingInvoice.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == len(organisations) * len(expected)
    return len(numbers)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_scheduler_threads_at_once_bill_each_month_once(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    organisations = enable_many(ENABLED_ON)
    start = threading.Barrier(2)
    results: list[BillingRun | BaseException] = []

    def scheduler() -> None:
        try:
            start.wait()
            results.append(run_billing(local_noon(UNTIL, "America/Los_Angeles")))
        except BaseException as exc:  # surfaced by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(isinstance(result, BillingRun) and result.spans_failed == 0 for result in results), results
    total = assert_billed_exactly_once(organisations, ENABLED_ON, UNTIL)
    assert sum(result.invoices_issued for result in results) == total
    # Each invoice emailed once, whichever scheduler claimed it.
    assert sum(result.emails_sent for result in results) == total == len(mail.outbox)
    # The numbers of a year run without gaps, whichever scheduler took them.
    assert sorted(BillingInvoice.objects.values_list("number", flat=True)) == [
        f"LL-2027-{n:06d}" for n in range(1, total + 1)
    ]


def run_two_scheduler_processes(env: dict[str, str]) -> list[int]:
    """Start two `ledgerlink run-billing` processes at once; returns how many invoices each issued."""
    env = {**env, "LEDGERLINK_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    command = [sys.executable, "-m", "ledgerlink", "run-billing", "--today", UNTIL.isoformat()]
    processes = [
        subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    return [int(out.decode().split("issued ")[1].split()[0]) for out, _ in outputs]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_scheduler_processes_at_once_on_postgresql(tmp_path):
    organisations = enable_many(ENABLED_ON)
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{quote(db['USER'])}{password}@{host}/{db['NAME']}"
    issued = run_two_scheduler_processes(
        {**os.environ, "DATABASE_URL": url, "LEDGERLINK_DATA_DIR": str(tmp_path)}
    )
    assert sum(issued) == assert_billed_exactly_once(organisations, ENABLED_ON, UNTIL)


def run_quietly(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite run covers the embedded mode once")
def test_two_scheduler_processes_at_once_on_an_embedded_sqlite_file(tmp_path):
    """Embedded mode for real: a SQLite file in WAL mode with IMMEDIATE transactions, two processes."""
    database_file = tmp_path / "ledgerlink.sqlite3"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"LEDGERLINK_SQLITE_PATH": str(database_file), "LEDGERLINK_DATA_DIR": str(tmp_path)}
    django = [sys.executable, "-m", "ledgerlink"]
    run_quietly([*django, "migrate", "-v0"], env)
    seed = (
        f"from tests.billing.test_concurrency import enable_many; enable_many(date({ENABLED_ON:%Y,%-m,%-d}))"
    )
    subprocess.run(
        [*django, "shell", "-c", f"from datetime import date; {seed}"], env=env, cwd=REPO, check=True
    )

    issued = run_two_scheduler_processes(env)

    with sqlite3.connect(database_file) as database:
        rows = database.execute(
            "SELECT organisation_id, period_start, number FROM billing_billinginvoice"
        ).fetchall()
    expected = [d.isoformat() for d in rules.billing_dates(ENABLED_ON, UNTIL)]
    by_organisation: dict[str, list[str]] = {}
    for organisation_id, period_start, _ in rows:
        by_organisation.setdefault(organisation_id, []).append(period_start)
    assert len(by_organisation) == ORGANISATIONS
    assert all(sorted(months) == expected for months in by_organisation.values())
    assert len({number for *_, number in rows}) == len(rows) == sum(issued) == ORGANISATIONS * len(expected)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_administrators_enabling_at_once_start_one_trial():
    organisation = make_organisation("Europe/London", "GBP", "GB")
    admins = [make_user(organisation), make_user(organisation)]
    start = threading.Barrier(2)
    results: list[object] = []

    def enable(admin) -> None:
        try:
            start.wait()
            results.append(services.enable_connector(organisation, admin, "192.0.2.7", "race"))
        except BaseException as exc:  # surfaced by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enable, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [type(result).__name__ for result in results] == ["Subscription", "Subscription"], results
    assert results[0].pk == results[1].pk
    assert organisation.terms_acceptances.count() == 1
    assert organisation.terms_acceptances.get().starts_trial
