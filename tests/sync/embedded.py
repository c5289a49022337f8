"""Embedded mode from outside, as `make demo` runs it: an SQLite file, SqliteHuey, a `ledgerlink run_huey`
consumer process, and `embedded_app.py` as the process that writes CashFlow's records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ledgerlink.devtools.sandboxes import RunningSandbox

DRIVER = Path(__file__).with_name("embedded_app.py")


def environment(sandbox: RunningSandbox, folder: Path, **extra: str) -> dict[str, str]:
    """Settings for every process of one embedded installation in `folder`, with a fresh sandbox app."""
    app = sandbox.control.create_app(["http://127.0.0.1:8000/connections/xero/callback/"])
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    return env | {
        "LEDGERLINK_DATA_DIR": str(folder),
        "LEDGERLINK_SQLITE_PATH": str(folder / "ledgerlink.sqlite3"),
        "LEDGERLINK_HUEY_PATH": str(folder / "huey.sqlite3"),
        "XERO_API_URL": sandbox.base_url,
        "XERO_IDENTITY_URL": sandbox.base_url,
        "XERO_CLIENT_ID": app.client_id,
        "XERO_CLIENT_SECRET": app.client_secret,
        "SANDBOX_URL": sandbox.base_url,
        "SANDBOX_TOKEN": sandbox.token,
        "DJANGO_SETTINGS_MODULE": "ledgerlink.settings",
        **extra,
    }


def run(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """A LedgerLink command or the driver in a process of its own; its last line of output."""
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def install(env: dict[str, str]) -> dict[str, Any]:
    """Migrate the SQLite file and connect an organisation to a sandbox tenant; returns their ids."""
    run(env, "-m", "ledgerlink", "migrate", "-v", "0")
    return dict(json.loads(run(env, str(DRIVER), "seed")))


def start_consumer(env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ledgerlink", "run_huey", "--workers", "2", "--no-periodic", "-q"]
    return subprocess.Popen(
        command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def states(env: dict[str, str]) -> set[str]:
    return {state for _, state in json.loads(run(env, str(DRIVER), "states"))}
