"""The sync engine's tables carry no index another already covers. A historical push inserts a record per
object and a link and an audit row per request: each index a row is in costs every insert, and the
single-column index Django gives each foreign key by default sat beside a composite index leading with
the same column. Read from the database itself, so it holds on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection as db

pytestmark = pytest.mark.django_db


def indexes(table: str) -> dict[str, tuple[list[str], bool]]:
    """Each index of `table`: (its columns in order, whether it is unique); the primary key left out."""
    with db.cursor() as cursor:
        found = db.introspection.get_constraints(cursor, table)
    return {
        name: (list(info["columns"]), bool(info["unique"]))
        for name, info in found.items()
        if (info["index"] or info["unique"]) and not info["primary_key"] and info["columns"]
    }


def covered(table: str) -> list[str]:
    """Plain indexes whose columns lead another index of the same table (that one serves their reads)."""
    found = indexes(table)
    return [
        f"{name} {columns} is led by {other}"
        for name, (columns, unique) in found.items()
        if not unique
        for other, (wider, _) in found.items()
        if other != name and len(wider) > len(columns) and wider[: len(columns)] == columns
    ]


@pytest.mark.parametrize("model", apps.get_app_config("sync").get_models(), ids=lambda m: m.__name__)
def test_no_index_of_the_sync_tables_is_led_by_another(model):
    assert covered(model._meta.db_table) == []


def test_the_check_sees_a_covered_index():
    # The check itself: Django's own many-to-many table keeps a foreign key index its unique pair leads with.
    table = apps.get_model("sync", "Attempt").records.through._meta.db_table
    assert covered(table)
