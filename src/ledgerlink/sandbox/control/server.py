"""A small threaded HTTP/1.1 server for the sandboxes' WSGI apps.

Why not werkzeug's dev server: it closes every connection (no keep-alive) and offers no clean way to drop a
response after the app has run. This server keeps connections alive, sets TCP_NODELAY and writes each
response in one ``sendall`` (no Nagle/delayed-ACK 40 ms penalty, real-clients.md trap 9), and closes the
socket without a byte when the app sets ``environ["sandbox.drop"]`` (the "committed, then the response was
lost" fault).
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_BODY_BYTES = 3_500_000  # Xero's long-standing POST limit (xero.md §2)
DROP_KEY = "sandbox.drop"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300  # seconds an idle keep-alive connection may hold its thread
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: the request log lives in the control plane."""

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self._read_exactly(length)

    def _read_exactly(self, size: int) -> bytes:
        """A body cut short means the client went away mid-request (killed, or its connection dropped): a
        real ledger's front end never hands such a request on, so neither may the sandbox. Answering it (a
        400 "body is empty") would store that answer under the request's idempotency key, and the client's
        honest replay of the whole request would get the stored refusal back."""
        data = self.rfile.read(size) if size else b""
        if len(data) < size:
            raise ConnectionError(f"the client sent {len(data)} of {size} bytes and went away")
        return data

    def _read_chunked(self) -> bytes | None:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return bytes(body)
            body += self._read_exactly(size)
            self.rfile.readline()
            if len(body) > MAX_BODY_BYTES:
                return None

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            # Too large or unreadable framing: answer and close, since the rest of the stream is unknown.
            self.close_connection = True
            self._write(413, "Request Entity Too Large", [("Content-Type", "text/plain")], b"Too large")
            return
        environ = self._environ(body)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            chunks = self.server.app(environ, start_response)
            try:
                payload = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:
            # A sandbox bug must show as a 500 the test can see, not as a dropped connection.
            traceback.print_exc()
            captured["status"], captured["headers"] = (
                "500 Internal Server Error",
                [("Content-Type", "text/plain")],
            )
            payload = b"sandbox internal error (see the sandbox's stderr)"
        if environ.get(DROP_KEY):
            self._drop()
            return
        code, _, reason = captured["status"].partition(" ")
        self._write(int(code), reason, captured["headers"], payload)

    def _write(self, code: int, reason: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        lines = [f"HTTP/1.1 {code} {reason}"]
        names = set()
        for name, value in headers:
            lines.append(f"{name}: {value}")
            names.add(name.lower())
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection or self.headers.get("Connection", "").lower() == "close":
            lines.append("Connection: close")
            self.close_connection = True
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        send = head if self.command == "HEAD" else head + payload
        self.wfile.write(send)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection without writing anything: the client sees it dropped."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection; daemon threads so a stop never waits on an idle keep-alive client."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: WSGIApp) -> None:
        self.app = app
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def serve_in_thread(server: SandboxHTTPServer) -> threading.Thread:
    """Run a server on a daemon thread (used by in-process tests)."""
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    return thread
