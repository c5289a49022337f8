"""A local SMTP server that keeps what it receives: the demo's outbox, so no mail leaves the machine."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ledgerlink.devtools.ports import free_port


@dataclass
class MailSink:
    """aiosmtpd handler: parses each message and keeps it in memory (and in a folder, when given one)."""

    folder: Path | None = None
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    _lock: Lock = field(default_factory=Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{len(self.messages):05d}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"


def start(host: str = "127.0.0.1", port: int = 0, folder: Path | None = None) -> tuple[Controller, MailSink]:
    """Start the sink on a loopback port (0 picks a free one); returns the running controller and sink."""
    sink = MailSink(folder=folder)
    # aiosmtpd checks readiness by connecting to its configured port, so port 0 cannot be passed through.
    controller = Controller(sink, hostname=host, port=port or free_port(host))
    controller.start()
    return controller, sink
