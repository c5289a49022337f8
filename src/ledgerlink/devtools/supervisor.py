"""One process that starts, watches and restarts the demo's processes (web, huey consumer, sandboxes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(list(self.argv), env={**os.environ, **self.env})

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()


class Supervisor:
    """Keeps every child running: a child that dies is restarted with a growing delay (1 s, 2 s, ... 30 s)."""

    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)
        self._stopping = False

    def run(self, poll_s: float = 0.5) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for child in self.children:
            child.start()
        try:
            while not self._stopping:
                time.sleep(poll_s)
                self._restart_dead()
        finally:
            self.stop_all()

    def _restart_dead(self) -> None:
        now = time.monotonic()
        for child in self.children:
            code = child.exited()
            if code is None:
                continue
            if child.next_start == 0.0:
                delay = min(30.0, 2.0**child.restarts)
                note = f"[supervisor] {child.name} exited with {code}; restarting in {delay:.0f}s"
                print(note, file=sys.stderr)
                child.next_start = now + delay
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start()

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True

    def stop_all(self, grace_s: float = 10.0) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + grace_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
