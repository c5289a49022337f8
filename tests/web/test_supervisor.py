"""The demo's supervisor with real processes: back-off and the line that says why, whole process groups
stopped (a forked grandchild too), and a child that ignores SIGTERM killed after the grace period."""

from __future__ import annotations

import io
import os
import sys
import time

from ledgerlink.devtools.supervisor import Child, Supervisor, describe_exit

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(300)"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_dead_child_is_restarted_after_a_growing_delay_with_its_last_words(tmp_path, monkeypatch):
    out = io.StringIO()
    child = Child(
        "flaky", ["sh", "-c", "echo 'bind: Address already in use' >&2; exit 3"], log_path=tmp_path / "f.log"
    )
    supervisor = Supervisor([child], out=out)
    clock = [1000.0]
    monkeypatch.setattr("ledgerlink.devtools.supervisor.time.monotonic", lambda: clock[0])
    child.start()
    child.process.wait()
    delays = []
    for _ in range(4):
        supervisor.restart_dead()  # notices the exit, schedules the restart
        delays.append(child.next_start - clock[0])
        clock[0] = child.next_start
        supervisor.restart_dead()  # due: starts it again
        child.process.wait()
    assert delays == [1.0, 2.0, 4.0, 8.0]
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and child.restarts == 4
    assert lines[0].startswith(
        "[demo] flaky exited with code 3 after 0.0s; last output: bind: Address already"
    )
    assert f"(log: {tmp_path / 'f.log'})" in lines[0]


def test_a_child_that_ran_a_while_starts_its_back_off_afresh(tmp_path, monkeypatch):
    child = Child("steady", ["true"], restarts=5)
    supervisor = Supervisor([child], out=io.StringIO())
    clock = [0.0]
    monkeypatch.setattr("ledgerlink.devtools.supervisor.time.monotonic", lambda: clock[0])
    child.start()
    child.process.wait()
    clock[0] = 61.0
    supervisor.restart_dead()
    assert child.next_start - clock[0] == 1.0


def test_stop_all_takes_the_whole_group_and_kills_what_ignores_sigterm(tmp_path):
    pid_file = tmp_path / "grandchild"
    # A child that forks a grandchild (as gunicorn forks workers) and one that ignores SIGTERM.
    parent = Child("parent", ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"])
    stubborn = Child(
        "stubborn",
        [
            sys.executable,
            "-c",
            IGNORES_SIGTERM,
        ],
        log_path=tmp_path / "s.log",
    )
    out = io.StringIO()
    supervisor = Supervisor([], out=out)
    supervisor.start(parent)
    supervisor.start(stubborn)
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip() and "ready" in stubborn.last_words()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    started = time.monotonic()
    supervisor.stop_all(grace_s=1.0)
    assert time.monotonic() - started < 5
    assert not _alive(parent.pid) and not _alive(stubborn.pid) and not _alive(grandchild)
    assert "[demo] stubborn ignored SIGTERM for 1s: killing it" in out.getvalue()


def test_a_running_child_is_not_started_twice():
    child = Child("once", ["sleep", "30"])
    supervisor = Supervisor([], out=io.StringIO())
    supervisor.start(child)
    try:
        try:
            child.start()
        except RuntimeError as exc:
            assert "already running" in str(exc)
        else:
            raise AssertionError("a second start was allowed")
    finally:
        supervisor.stop_all()


def test_exits_are_described_in_words():
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
