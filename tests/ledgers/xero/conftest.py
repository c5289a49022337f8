"""The shared ledger fixtures (tests/ledgers/conftest.py), on Xero only."""

from __future__ import annotations

import pytest

from ..harness import XeroHarness


@pytest.fixture
def harness(settings, xero_sandbox) -> XeroHarness:
    harness = XeroHarness(xero_sandbox)
    harness.configure(settings)
    return harness
