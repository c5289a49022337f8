"""The benchmark's own embedded database: a fresh SQLite file under bench/out/, migrated by the bench, so a
run never touches the developer's var/ data. Must run before anything imports Django models."""

from __future__ import annotations

import os
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def bench_environment(out: Path) -> dict[str, str]:
    """Settings (by environment) of the bench's database and huey queue; child processes get the same."""
    return {
        "DJANGO_SETTINGS_MODULE": "ledgerlink.settings",
        "LEDGERLINK_DATA_DIR": str(out),
        "LEDGERLINK_SQLITE_PATH": str(out / "bench.sqlite3"),
        "LEDGERLINK_HUEY_PATH": str(out / "bench-huey.sqlite3"),
        "LEDGERLINK_LOG_LEVEL": "ERROR",
        "LEDGERLINK_MODE": "test",  # a throwaway database: secrets generated into `out`, never production's
    }


def setup_django(out: Path = OUT) -> None:
    """Point Django at a fresh bench database in `out`, set it up and migrate it."""
    (out / "static").mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing STATIC_ROOT
    for stale in out.glob("*.sqlite3*"):
        stale.unlink()
    os.environ.pop("DATABASE_URL", None)  # the embedded default: SQLite in WAL mode
    os.environ.pop("REDIS_URL", None)
    os.environ.update(bench_environment(out))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
