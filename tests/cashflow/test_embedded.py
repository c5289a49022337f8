"""The embedded mode for real: two gunicorn worker processes on one SQLite file (WAL, IMMEDIATE
transactions), hit concurrently over HTTP. Nothing is paid twice, no number is allocated twice, and one
Idempotency-Key makes one payment, across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from ledgerlink.devtools.ports import free_port

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite pass covers the embedded mode"
)


def _at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def embedded(tmp_path) -> Iterator[tuple[str, requests.Session]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "LEDGERLINK_DATA_DIR": str(tmp_path),
        "LEDGERLINK_SQLITE_PATH": str(tmp_path / "ledgerlink.sqlite3"),
    }

    def run(*args: str) -> str:
        return subprocess.run(
            [BIN / "ledgerlink", *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    run("migrate", "-v0")
    organisation_id = run("create-organisation", "--name", "Embedded Solar", "--country", "AU").strip()
    key = run("create-api-key", organisation_id).strip()
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "ledgerlink.wsgi",
            "--workers",
            "2",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90  # generous: CI machines run both test workers at once
        while True:
            try:
                if requests.get(f"{base}/health", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        yield base, session
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown; SIGTERM waits out the graceful timeout
        server.wait(timeout=15)
        log.close()


def test_two_worker_processes_on_one_sqlite_file(embedded):
    base, session = embedded
    rate = session.post(f"{base}/tax-rates", json={"name": "GST 10%", "rate": "10"}).json()
    customer = session.post(f"{base}/customers", json={"name": "Ada", "email": "ada@example.com"}).json()
    line = {
        "line_type": "system",
        "description": "System",
        "unit_amount": "1000.00",
        "tax_rate_id": rate["id"],
    }
    draft = {"customer_id": customer["id"], "kind": "custom", "due_date": "2099-01-01", "tax_inclusive": True}

    def new_draft(_: int) -> str:
        return session.post(f"{base}/invoices", json={**draft, "lines": [line]}).json()["id"]

    invoice_ids = [new_draft(i) for i in range(6)]
    numbers = _at_once(6, lambda i: session.post(f"{base}/invoices/{invoice_ids[i]}/issue").json()["number"])
    assert sorted(numbers) == [f"INV-{n:05d}" for n in range(1, 7)]

    for round_number, invoice_id in enumerate(invoice_ids[:4]):
        url = f"{base}/invoices/{invoice_id}/payments"

        def pay(index: int, url=url, round_number=round_number) -> int:
            body = {"amount": "600.00", "method": "card"}
            return session.post(
                url, json=body, headers={"Idempotency-Key": f"r{round_number}-{index}"}
            ).status_code

        assert sorted(_at_once(2, pay)) == [201, 422]
        invoice = session.get(f"{base}/invoices/{invoice_id}").json()
        assert (invoice["amount_paid"], invoice["status"], len(invoice["payments"])) == (
            "600.00",
            "part_paid",
            1,
        )

    url = f"{base}/invoices/{invoice_ids[5]}/payments"
    same_key = _at_once(
        6,
        lambda _: session.post(
            url, json={"amount": "10.00", "method": "cash"}, headers={"Idempotency-Key": "one"}
        ),
    )
    assert {r.status_code for r in same_key} == {201} and len({r.json()["id"] for r in same_key}) == 1
    assert len(session.get(f"{base}/invoices/{invoice_ids[5]}").json()["payments"]) == 1
