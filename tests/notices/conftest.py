"""Notices fixtures: doorbells recorded rather than queued (the tests drive the engine themselves)."""

import pytest

from ledgerlink.sync import doorbell


@pytest.fixture(autouse=True)
def doorbells(monkeypatch) -> list:
    rung: list = []
    monkeypatch.setattr(doorbell, "ring", lambda connection_id, delay_s=None: rung.append(connection_id))
    return rung
