"""One process that starts, watches and restarts the demo's processes (web, huey consumer, sandboxes).

Each child is started once, in a process group of its own, with its output in a log file (so the demo's
terminal keeps the welcome text). A child that dies is restarted with a growing delay, and one line says
which, how it ended and the last thing it wrote. Stopping signals each whole group (gunicorn's workers go
with their master), then kills what is left after the grace period. Where util-linux's `setpriv` exists,
children also get SIGTERM if the supervisor itself is killed, so no port is left held.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

STABLE_AFTER_S = 60.0  # a child that ran this long before dying starts its back-off afresh
MAX_DELAY_S = 30.0


class Stopped(Exception):
    """Raised in the main thread by SIGTERM or SIGINT, so startup and the watch loop unwind to stop_all."""


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float | None = None  # set while a dead child waits out its back-off
    _log_offset: int = 0

    def start(self) -> None:
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        output: int | TextIO = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_path.open("a")
            self._log_offset = output.tell()
        try:
            self.process = subprocess.Popen(
                [*_parent_death_signal(), *self.argv],
                env={**os.environ, **self.env},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            if not isinstance(output, int):
                output.close()
        self.started_at = time.monotonic()
        self.next_start = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal_group(self, signum: int) -> None:
        """Signal the child's whole process group (it leads it), including what it forked."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def last_words(self) -> str:
        """The last non-empty line the child wrote since its latest start, to say why it ended."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode(errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""


def _parent_death_signal() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv and sys.platform == "linux" else []


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Keeps every child running: a child that dies is restarted after 1 s, 2 s, 4 s ... up to 30 s."""

    def __init__(self, children: Sequence[Child] = (), out: TextIO | None = None) -> None:
        self.children = list(children)
        self.out = out or sys.stderr

    def install_signal_handlers(self) -> None:
        """Make SIGTERM and SIGINT raise `Stopped` in the main thread: call before starting children."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def start(self, child: Child) -> None:
        if child not in self.children:
            self.children.append(child)
        child.start()

    def run(self, poll_s: float = 0.5) -> None:
        """Watch the started children until SIGTERM or SIGINT (which raise `Stopped`); the caller stops them
        all in a `finally`, which also covers a signal that arrives while it is still starting them."""
        while True:
            time.sleep(poll_s)
            self.restart_dead()

    def restart_dead(self) -> None:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is None:
                continue
            if child.next_start is None:
                self._schedule_restart(child, code, now)
            elif now >= child.next_start:
                child.restarts += 1
                child.signal_group(signal.SIGKILL)  # anything the dead leader left behind
                child.start()

    def _schedule_restart(self, child: Child, code: int, now: float) -> None:
        lived = now - child.started_at
        if lived >= STABLE_AFTER_S:
            child.restarts = 0
        delay = min(MAX_DELAY_S, 2.0**child.restarts)
        child.next_start = now + delay
        why = child.last_words()
        where = f" (log: {child.log_path})" if child.log_path else ""
        self.out.write(
            f"[demo] {child.name} {describe_exit(code)} after {lived:.1f}s"
            f"{'; last output: ' + why if why else ''}; restarting in {delay:.0f}s{where}\n"
        )
        self.out.flush()

    def _stop(self, signum: int, frame: object) -> None:
        # A second signal during shutdown must not interrupt stop_all.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    def stop_all(self, grace_s: float = 8.0) -> None:
        """SIGTERM to every child's group, then SIGKILL to whatever is still there after `grace_s`."""
        started = [child for child in self.children if child.process is not None]
        for child in started:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in started:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.out.write(f"[demo] {child.name} ignored SIGTERM for {grace_s:.0f}s: killing it\n")
            child.signal_group(signal.SIGKILL)  # its leftover group members, if any
            child.process.wait()
