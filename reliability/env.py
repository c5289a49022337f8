"""The campaign's own PostgreSQL database (recreated per run), its Redis queue and the settings every process
it starts shares. Must run before anything imports Django models."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "reliability" / "out"
# Which sessions the campaign may cut: libpq reads PGAPPNAME, so each process it starts names itself.
CONSUMER_APP = "ll-chaos-consumer"
WEB_APP = "ll-chaos-web"


@dataclass(frozen=True)
class Environment:
    database_url: str
    redis_url: str
    queue: str
    out: Path
    time_scale: float
    lease_s: float
    read_timeout_s: float

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    def admin_url(self) -> str:
        """The server's maintenance database, to drop and create the campaign's own."""
        parts = urlsplit(self.database_url)
        return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))

    def variables(self) -> dict[str, str]:
        """Settings (by environment) of every LedgerLink process of the campaign."""
        return {
            "DJANGO_SETTINGS_MODULE": "ledgerlink.settings",
            "LEDGERLINK_MODE": "test",  # a throwaway database: secrets generated into `out`, shared by all
            "LEDGERLINK_DATA_DIR": str(self.out),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "LEDGERLINK_HUEY_NAME": self.queue,
            "LEDGERLINK_LOG_LEVEL": "ERROR",
            "LEDGERLINK_SYNC_LEASE_S": str(self.lease_s),
            "LEDGERLINK_SYNC_TIME_SCALE": str(self.time_scale),
            "LEDGERLINK_LEDGER_READ_TIMEOUT_S": str(self.read_timeout_s),
        }


def recreate_database(env: Environment) -> None:
    """Drop the campaign's database (ending any session left on it by an earlier run) and create it."""
    name = env.database_name
    with psycopg.connect(env.admin_url(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(env: Environment) -> None:
    """This process speaks to the campaign's database and queue like the consumers do; migrate it."""
    (env.out / "static").mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing STATIC_ROOT
    os.environ.update(env.variables())
    os.environ["PGAPPNAME"] = "ll-chaos-campaign"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def cut_sessions(env: Environment, application: str) -> int:
    """pg_terminate_backend every session of one kind of process on the campaign's database."""
    with psycopg.connect(env.admin_url(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            (env.database_name, application),
        ).fetchall()
    return len(rows)
