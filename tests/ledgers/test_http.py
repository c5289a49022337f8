"""The transport choke point: failures classified by whether the request may have been committed, every
exchange signalled and logged without secrets. Real sockets on loopback, no mocks."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ledgerlink.ledgers import http
from ledgerlink.ledgers.errors import Retry, UnknownOutcome
from ledgerlink.ledgers.signals import ledger_call_made

CONTEXT = http.CallContext("org-1", "xero", "Xero-Correlation-Id")


def _read_request(conn: socket.socket) -> None:
    """The whole request, body included: a socket closed with unread bytes resets the connection, and the
    client would see that instead of the answer under test."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _serve(behaviour: str, size: int = 0) -> Iterator[str]:
    """A one-purpose loopback server: 'drop' reads the request then closes; 'slow' reads and never answers;
    'ok' answers 200 with a correlation id; 'huge' answers a JSON list `size` bytes long."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def run() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                _read_request(conn)
                if behaviour == "ok":
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nXero-Correlation-Id: c-7\r\n"
                        b'Content-Length: 16\r\nConnection: close\r\n\r\n{"Amount": 1.10}'
                    )
                elif behaviour == "slow":
                    stop.wait(2)
                elif behaviour == "huge":
                    head = (
                        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
                    )
                    # The client hangs up once it has read enough: that is the point.
                    with contextlib.suppress(OSError):
                        conn.sendall(head.encode() + b"[" + b" " * (size - 2) + b"]")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/api.xro/2.0/Invoices"
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def calls() -> Iterator[list[dict]]:
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    ledger_call_made.connect(receiver, weak=False)
    yield seen
    ledger_call_made.disconnect(receiver)


def test_nothing_listening_means_never_sent_so_retry(calls):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(Retry) as raised:
        http.send(CONTEXT, "PUT", f"http://127.0.0.1:{port}/x", content=b"{}")
    assert raised.value.code == "unreachable"
    assert calls[0]["status"] == 0 and calls[0]["path"] == "/x"


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_dropped_after_sending_a_write_is_an_unknown_outcome(method):
    for url in _serve("drop"):
        with pytest.raises(UnknownOutcome):
            http.send(CONTEXT, method, url, content=b"{}")


def test_dropped_read_is_just_retried():
    for url in _serve("drop"):
        with pytest.raises(Retry):
            http.send(CONTEXT, "GET", url)


def test_read_timeout_after_a_write_is_an_unknown_outcome(monkeypatch):
    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.3)
    for url in _serve("slow"):
        started = time.perf_counter()
        with pytest.raises(UnknownOutcome):
            http.send(CONTEXT, "PUT", url, content=b"{}")
        assert time.perf_counter() - started < 2


def test_exchange_is_signalled_and_logged_without_tokens_or_query(calls, caplog):
    caplog.set_level(logging.INFO, logger="ledgerlink.ledgers.http")
    for url in _serve("ok"):
        exchange = http.send(
            CONTEXT,
            "GET",
            url,
            headers={"Authorization": "Bearer SECRET-TOKEN"},
            params={"where": 'EmailAddress=="jane@example.com"'},
        )
    assert exchange.status == 200 and exchange.correlation_id == "c-7"
    assert str(exchange.json()["Amount"]) == "1.10"  # Decimal, not float
    (call,) = calls
    assert {
        k: call[k]
        for k in ("organisation_id", "provider", "method", "path", "status", "correlation_id", "calls")
    } == {
        "organisation_id": "org-1",
        "provider": "xero",
        "method": "GET",
        "path": "/api.xro/2.0/Invoices",
        "status": 200,
        "correlation_id": "c-7",
        "calls": 1,
    }
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "/api.xro/2.0/Invoices" in logged
    assert "SECRET-TOKEN" not in logged and "jane@example.com" not in logged


def test_a_failing_receiver_never_breaks_the_call(calls):
    def broken(sender, **kwargs):
        raise RuntimeError("billing is down")

    ledger_call_made.connect(broken, weak=False)
    try:
        for url in _serve("ok"):
            assert http.send(CONTEXT, "GET", url).status == 200
    finally:
        ledger_call_made.disconnect(broken)


@pytest.fixture
def small_limit(monkeypatch) -> None:
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 256 * 1024)  # the rule, at a size a test can send


def test_a_huge_answer_to_a_write_is_unknown_and_to_a_read_a_retry(small_limit):
    for url in _serve("huge", 1024 * 1024):
        with pytest.raises(UnknownOutcome, match="too large") as written:
            http.send(CONTEXT, "PUT", url, content=b"{}")
        assert written.value.code == "too_large"
        with pytest.raises(Retry, match="too large"):
            http.send(CONTEXT, "GET", url)


def test_an_answer_under_the_limit_is_read_whole(small_limit):
    for url in _serve("huge", 200 * 1024):
        exchange = http.send(CONTEXT, "GET", url)
        assert len(exchange.content) == 200 * 1024 and exchange.json() == []


@pytest.fixture
def environment_read_afresh() -> Iterator[None]:
    http._environment.cache_clear()
    yield
    http._environment.cache_clear()


def test_the_proxy_the_environment_names_carries_ledger_calls_and_no_proxy_bypasses_it(
    monkeypatch, environment_read_afresh
):
    """Read once per origin, as requests would read it per request: HTTP_PROXY is used, NO_PROXY's hosts go
    direct."""
    for url in _serve("ok"):
        monkeypatch.setenv("HTTP_PROXY", url.split("/api.xro")[0])
        monkeypatch.setenv("NO_PROXY", "direct.invalid")
        answer = http.send(CONTEXT, "GET", "http://ledger.invalid/api.xro/2.0/Invoices")
        assert answer.status == 200 and answer.correlation_id == "c-7"  # the loopback proxy answered
        with pytest.raises(Retry) as raised:  # went direct: the name does not resolve, nothing was sent
            http.send(CONTEXT, "GET", "http://direct.invalid/api.xro/2.0/Invoices")
        assert raised.value.code == "unreachable"
