"""Two workers needing a fresh token at once refresh it once: the row lock plus the re-read (tokens.py).
Ledgers rotate refresh tokens, so a second refresh would fork the token family. Needs a server
database: SQLite serialises writers anyway and its in-memory test database is not shared across threads."""

from __future__ import annotations

import datetime as dt
import threading
from urllib.parse import urlsplit

import pytest
from django.db import connection as db
from django.db import connections
from django.utils import timezone

from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.registry import oauth_for
from ledgerlink.ledgers.signals import ledger_call_made
from ledgerlink.ledgers.tokens import ensure_fresh_token

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db.vendor == "sqlite", reason="needs a server database for real row locks"),
]


def test_two_workers_refresh_an_expiring_token_once(connected):
    connection, _ = connected
    token_path = urlsplit(oauth_for(connection.provider).config().token_url).path
    Connection.objects.filter(pk=connection.pk).update(
        access_expires_at=timezone.now() + dt.timedelta(seconds=5)
    )
    token_calls: list[str] = []

    def count(sender, path, **kwargs):
        if path == token_path:
            token_calls.append(path)

    ledger_call_made.connect(count, weak=False)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(ensure_fresh_token(connection.pk).access_token)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        ledger_call_made.disconnect(count)
    assert len(results) == 2 and results[0] == results[1] != connection.access_token
    assert len(token_calls) == 1
    assert Connection.objects.get(pk=connection.pk).access_token == results[0]
