"""The processes a campaign runs and breaks: its own Redis (restarted for real), `ledgerlink run_huey`
consumers (SIGKILLed and replaced) and the web service (gunicorn), all on the campaign's database. Only
processes started here are ever signalled."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from ledgerlink.devtools.ports import free_port

from .env import CONSUMER_APP, WEB_APP, Environment


class OwnRedis:
    """A redis-server of the campaign's own on a free loopback port, without persistence: a restart loses
    every queued doorbell, which is the harder case (the sweeper must ring again)."""

    def __init__(self, out: Path) -> None:
        self.port = free_port()
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.out)]
        log = (self.out / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()
        self.restarts += 1


@dataclass
class Fleet:
    """The consumers and the web service, restartable; counts what it did to them."""

    env: Environment
    ledger_settings: dict[str, str]
    consumers: int
    web_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    web: subprocess.Popen[bytes] | None = None
    started: int = 0
    kills: int = 0

    def _environ(self, application: str) -> dict[str, str]:
        return {
            **os.environ,
            **self.env.variables(),
            **self.ledger_settings,
            "PGAPPNAME": application,
            "PYTHONUNBUFFERED": "1",
        }

    def _log(self, name: str):  # type: ignore[no-untyped-def]
        return (self.env.out / f"{name}.log").open("ab")

    def start_consumer(self, periodic: bool) -> subprocess.Popen[bytes]:
        """Consumer 0 also runs the schedules (the sweeper that frees lapsed leases and rings again)."""
        command = [sys.executable, "-m", "ledgerlink", "run_huey", "--workers", "2", "-q"]
        if not periodic:
            command.append("--no-periodic")
        self.started += 1
        with self._log(f"consumer-{self.started}") as log:
            process = subprocess.Popen(
                command, env=self._environ(CONSUMER_APP), stdout=log, stderr=subprocess.STDOUT
            )
        return process

    def start(self) -> None:
        self.processes = [self.start_consumer(periodic=n == 0) for n in range(self.consumers)]
        self.start_web()

    def start_web(self) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "ledgerlink.wsgi",
            "--bind",
            f"127.0.0.1:{self.web_port}",
        ]
        command += ["--workers", "2", "--threads", "4", "--graceful-timeout", "5"]
        with self._log("web") as log:
            self.web = subprocess.Popen(
                command, env=self._environ(WEB_APP), stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_for_web()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def wait_for_web(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.web is not None and self.web.poll() is not None:
                raise RuntimeError(f"the web service exited at start (see {self.env.out}/web.log)")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/api/v1/openapi.json", timeout=2).ok:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the web service did not answer within {timeout_s:.0f}s")

    def kill(self, index: int) -> None:
        """SIGKILL one consumer wherever it is, and start its replacement (with the same role)."""
        victim = self.processes[index]
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            self.kills += 1
        self.processes[index] = self.start_consumer(periodic=index == 0)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM everything (huey finishes its tasks, gunicorn its requests), SIGKILL what lingers."""
        alive = [p for p in [*self.processes, self.web] if p is not None and p.poll() is None]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in alive:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
