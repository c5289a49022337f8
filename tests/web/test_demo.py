"""`make demo` cannot rot: `ledgerlink demo --check` migrates, seeds, starts every part (Xero sandbox, web,
huey consumer, SMTP sink), checks each answers, and stops."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ledgerlink.devtools.ports import free_port


@pytest.mark.slow
def test_demo_starts_every_part_and_stops(tmp_path):
    ports = [str(free_port()) for _ in range(3)]
    env = {**os.environ, "LEDGERLINK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the demo is the embedded default
    command = [sys.executable, "-m", "ledgerlink", "demo", "--check"]
    command += ["--port", ports[0], "--xero-port", ports[1], "--smtp-port", ports[2]]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Sign in as demo" in result.stdout
    assert result.stdout.count("\nok http") == 3
    assert (tmp_path / "xero-sandbox.json").exists()  # the sandbox kept its tenants for the next start
