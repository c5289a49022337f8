"""What one organisation's sync costs the database: the bench's many-organisations section (1,000 at once) is
bound by it, so a statement or a commit more per organisation is 1,000 more there."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection as db

from ledgerlink.cashflow import services
from ledgerlink.sync.models import SyncRecord, SyncState
from ledgerlink.sync.worker import sync_connection

INVOICES = 20  # the bench's invoices per organisation, for two customers
ISSUED = dt.date(2026, 11, 16)  # any date: the cost does not depend on it, and the test never reads the clock

# Measured (statements, write transactions) for the whole run: 69 and 30 before the write-ahead mark joined
# the lease renewal, an attempt and its links shared a commit, and the run's last (empty) claim and release
# stopped writing. A claim then came to read its candidates one due state at a time (an index walk each that
# stops at the batch, so a claim no longer sorts every due record of a large backlog): 71 statements. Settling
# a request's records writes all their fields in one prepared statement, not that and an UPDATE: 69. Each
# claim then came to be sized by the tenant's rate budget, one read of its row (two claims here): 71. The
# customer match stopped reading its records back for the audit, and each call's answer came to be recorded
# by the release of its slot instead of a transaction of its own: 64 statements, 18 write transactions.
MAX_STATEMENTS = 64
MAX_WRITE_TRANSACTIONS = 18  # PostgreSQL: one more, the last claim's (SKIP LOCKED reads in a transaction)


def _issue(world, customers) -> None:  # type: ignore[no-untyped-def]
    for n in range(INVOICES):
        draft = services.create_invoice(
            world.organisation,
            services.InvoiceInput(
                customer_id=customers[n % len(customers)].id,
                kind="custom",
                due_date=ISSUED + dt.timedelta(days=14),
                issue_date=ISSUED,
                tax_inclusive=True,
                lines=[
                    services.LineInput("service", "Panel clean", Decimal("1"), Decimal("100"), world.gst.id)
                ],
            ),
        )
        services.issue_invoice(draft)


def write_transactions(statements: list[str], depth: int = 0) -> int:
    """Commits the statements would make on their own: each outermost atomic block (a savepoint inside
    the test's transaction) once, and each write outside one."""
    count = 0
    for sql in statements:
        if sql.startswith("SAVEPOINT"):
            count += depth == 0
            depth += 1
        elif sql.startswith(("RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            depth -= sql.startswith("RELEASE")
        elif depth == 0 and not sql.lstrip().upper().startswith("SELECT"):
            count += 1
    return count


def test_one_organisations_sync_costs_a_bounded_number_of_statements_and_commits(world):
    """Two customers and 20 invoices through the real Xero sandbox: three calls, one run, and the
    statements and commits counted (savepoints stand for the commits they make outside a test)."""
    other = services.create_customer(
        world.organisation, services.CustomerInput(name="Grace Hopper", email="grace@example.com")
    )
    _issue(world, [world.customer, other])
    statements: list[str] = []

    def capture(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, params, many, context)

    with db.execute_wrapper(capture):
        report = sync_connection(world.connection.pk)
    assert report.calls == 3 and report.resume_in_s is None
    assert set(SyncRecord.objects.filter(connection=world.connection).values_list("state", flat=True)) == {
        SyncState.SYNCED
    }
    queries = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    assert len(queries) <= MAX_STATEMENTS, len(queries)
    most = MAX_WRITE_TRANSACTIONS + db.features.has_select_for_update_skip_locked
    assert write_transactions(statements) <= most, write_transactions(statements)
