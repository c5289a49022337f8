"""`make demo` for real: `ledgerlink demo` on free ports starts each part once (Xero sandbox, web, huey
consumer; the SMTP sink in-process), prints every organisation with its key and ledger, restarts a part that
dies, and on SIGTERM leaves no process and no port behind. A taken port is refused by name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ledgerlink.devtools.ports import free_port, port_is_free

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid` with their command lines, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found[int(entry.name)] = cmdline
    return found


def _descendants(pid: int) -> set[int]:
    result, frontier = set(), [pid]
    while frontier:
        children = set(_children(frontier.pop()))
        result |= children
        frontier.extend(children)
    return result


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """The demo's stdout up to and including the line holding `marker`."""
    deadline = time.monotonic() + timeout_s
    seen = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout_s}s:\n{''.join(seen)}")


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _demo(tmp_path: Path, ports: list[int]) -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGERLINK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the demo is the embedded default
    command = [sys.executable, "-m", "ledgerlink", "demo"]
    command += ["--port", str(ports[0]), "--xero-port", str(ports[1]), "--smtp-port", str(ports[2])]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def test_demo_runs_each_part_once_restarts_the_dead_and_stops_cleanly(tmp_path):
    ports = [free_port() for _ in range(3)]
    demo = _demo(tmp_path, ports)
    try:
        welcome = _read_until(demo, "Ctrl-C stops everything", timeout_s=180)

        # Each organisation with its country, a working API key and its sandbox ledger page.
        listed = re.findall(
            r"^    (.+) \((\w\w)\)\n      API key: (\S+)\n      Xero sandbox ledger: (\S+)$", welcome, re.M
        )
        assert sorted((name, country) for name, country, _, _ in listed) == [
            ("Brightwater Solar Ltd", "GB"),
            ("Harbour Solar Pty Ltd", "AU"),
            ("Sunbelt Solar Co.", "US"),
        ]
        web = f"http://127.0.0.1:{ports[0]}"
        for name, _, key, ledger in listed:
            assert requests.get(f"{web}/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).ok
            page = requests.get(ledger, timeout=5)
            assert page.status_code == 200 and name in page.text

        # Each child exactly once: one sandbox, one gunicorn master (with its workers), one consumer.
        children = _children(demo.pid)
        kinds = sorted(
            "sandbox"
            if " sandbox xero" in cmd
            else "web"
            if "gunicorn" in cmd
            else "worker"
            if "run_huey" in cmd
            else cmd
            for cmd in children.values()
        )
        assert kinds == ["sandbox", "web", "worker"], children
        assert (tmp_path / "xero-sandbox.json").exists()  # the sandbox keeps its tenants for the next start

        # A part that dies is restarted, with a line saying which and how it ended.
        worker = next(pid for pid, cmd in children.items() if "run_huey" in cmd)
        os.kill(worker, signal.SIGKILL)
        assert demo.stderr is not None
        line = demo.stderr.readline()
        assert line.startswith("[demo] worker killed by SIGKILL") and "restarting in 1s" in line, line
        _wait(
            lambda: any("run_huey" in cmd for pid, cmd in _children(demo.pid).items() if pid != worker),
            timeout_s=10,
            what="the worker was not restarted",
        )

        # SIGTERM: every process gone and every port free within 10 s.
        everything = _descendants(demo.pid)
        demo.send_signal(signal.SIGTERM)
        started = time.monotonic()
        demo.wait(timeout=10)
        _wait(
            lambda: not any(_alive(pid) for pid in everything), 10 - (time.monotonic() - started), "left over"
        )
        _wait(
            lambda: all(port_is_free(port) for port in ports), 10 - (time.monotonic() - started), "port held"
        )
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)


def test_demo_refuses_a_taken_port_and_says_how_to_choose_another(tmp_path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        demo = _demo(tmp_path, [free_port(), taken, free_port()])
        _, err = demo.communicate(timeout=60)
    assert demo.returncode != 0
    assert f"Port {taken} (xero-sandbox) is already in use" in err
    assert "make demo XERO_PORT=" in err and "--xero-port" in err
    assert not (tmp_path / "demo.json").exists()  # nothing was started
