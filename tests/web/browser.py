"""What the browser tests share: Debian's chromium, a tab that counts the user's actions and audits every
page of ours, a worker that plays the huey consumer and the sweeper, and a way to use the ORM beside
Playwright (whose event loop makes Django refuse ORM calls on the test's own thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection as db_connection

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}

# Every page of ours: no field without a label (a <label>, or aria-label), no horizontal scroll.
PAGE_AUDIT = """() => {
  const fields = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => !['hidden', 'submit', 'button'].includes(el.type));
  const unlabelled = fields.filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map(el => el.name || el.id);
  return {heading: (document.querySelector('h1') || {}).textContent || '', unlabelled,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""

T = TypeVar("T")

# SQLite's shared in-memory test database fails a second writer at once ("database table is locked")
# where PostgreSQL, or SQLite on a file, would wait: on it, the live server's requests, the worker and
# the test's own ORM calls take turns under this lock (`take_turns`), as one connection at a time.
DB_TURN = threading.RLock()


class Journey:
    """The browser tab, the actions taken in it, and what each page of ours was found to have wrong."""

    def __init__(self, page: Any, base_url: str, name: str):
        self.page, self.base_url, self.name = page, base_url, name
        self.actions, self.problems, self.audited = 0, [], 0
        page.on("console", self._console)
        page.on("requestfailed", self._failed)
        page.on("response", self._bad_status)

    def _console(self, message: Any) -> None:
        # Errors on our pages only: the sandbox's consent page stands in for the ledger's and is not ours.
        if message.type == "error" and self.page.url.startswith(self.base_url):
            self.problems.append(f"console on {self.page.url}: {message.text}")

    def _failed(self, request: Any) -> None:
        # A poll cut short by the page moving on is the browser's doing, not a failure of ours.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed request: {request.url} ({request.failure})")

    def _bad_status(self, response: Any) -> None:
        if response.url.startswith(self.base_url) and response.status >= 400:
            self.problems.append(f"{response.status} from {response.url}")

    def act(self, what: str, *args: Any) -> None:
        """One user action: a click, a tick or a field filled in."""
        self.actions += 1
        getattr(self.page, what)(*args)

    def audit(self, step: str) -> None:
        """Check the page now shown (one of ours) and keep a screenshot of it."""
        self.page.wait_for_load_state("networkidle")
        found = self.page.evaluate(PAGE_AUDIT)
        where = self.page.url
        if not where.startswith(self.base_url):
            self.problems.append(f"{step}: expected a page of ours, got {where}")
        if not found["heading"].strip():
            self.problems.append(f"no heading on {where}")
        if found["unlabelled"]:
            self.problems.append(f"unlabelled fields {found['unlabelled']} on {where}")
        if found["overflow"] > 0:
            self.problems.append(f"{found['overflow']} px of horizontal overflow on {where}")
        self.audited += 1
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"journey-{self.name}-{step}.png"), full_page=True)


def off_loop(work: Callable[..., T], *args: Any) -> T:
    """Run ORM work on a thread of its own (Playwright's loop runs on the test's thread) and return its
    result; the thread's database connection is closed after, so none is left open at teardown."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with DB_TURN:
                result.append(work(*args))
        except BaseException as error:  # re-raised on the test's thread
            errors.append(error)
        finally:
            db_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return result[0]


class Worker(threading.Thread):
    """The background side of production, on one thread: every `every` seconds the sweeper (missed events,
    lapsed leases, history progress) rings each connection with due records, and the rung connections are
    synced, as a huey consumer would. Rings from the app (the doorbell after commit) land here too."""

    def __init__(self, every: float = 0.3):
        super().__init__(daemon=True)
        self.every, self.stopping, self.rung = every, threading.Event(), set[int]()
        self.lock, self.errors = threading.Lock(), list[BaseException]()

    def ring(self, connection_id: int, delay_s: float | None = None) -> None:
        with self.lock:
            self.rung.add(connection_id)

    def run(self) -> None:
        from ledgerlink.sync.sweeper import sweep
        from ledgerlink.sync.worker import sync_connection

        try:
            while not self.stopping.wait(self.every):
                with DB_TURN:
                    sweep()
                with self.lock:
                    due, self.rung = sorted(self.rung), set()
                for connection_id in due:
                    with DB_TURN:
                        sync_connection(connection_id, budget_s=10)
        except BaseException as error:  # reported by stop(), on the test's thread
            self.errors.append(error)
        finally:
            db_connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)
        if self.errors:
            raise self.errors[0]


def take_turns(monkeypatch: Any) -> None:
    """On SQLite, every request the live server handles waits for its turn at the database (DB_TURN)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    handle = WSGIHandler.__call__

    def in_turn(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with DB_TURN:
            return list(handle(self, environ, start_response))

    monkeypatch.setattr(WSGIHandler, "__call__", in_turn)
