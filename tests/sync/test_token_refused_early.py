"""An access token the ledger ends before its own expiry time (the ledger's clock, a support action, the
reliability campaign's `expire_tokens`) is refreshed whichever call meets the refusal. Found by the campaign
(`make chaos`): when the refusal came to the customer match, a read before any write, the token was never
refreshed, and every run met the same 401 until the token's stated expiry (an hour at QuickBooks) passed."""

from __future__ import annotations

import pytest
from ledgers.harness import HARNESSES

from ledgerlink.sync.models import SyncRecord, SyncState

from .conftest import issue
from .ledger_world import LedgerWorld, build_world

pytestmark = pytest.mark.xdist_group("xero-sandbox")

SANDBOXED = ("xero", "quickbooks")  # ledgers whose sandbox can end a grant's access tokens


@pytest.fixture(params=SANDBOXED)
def world(request, db, settings) -> LedgerWorld:
    harness = HARNESSES[request.param](request)
    harness.configure(settings)
    return build_world(harness)


def test_a_token_refused_at_the_customer_match_is_refreshed_and_the_invoice_syncs(world):
    control = world.harness.sandbox.control
    assert control.expire_tokens(client_id=world.harness.client_id) == 1
    invoice = issue(world.organisation, world.customer, world.gst, "480.00")
    world.drain(rounds=3)
    states = set(SyncRecord.objects.values_list("state", flat=True))
    assert states == {SyncState.SYNCED}, SyncRecord.objects.values_list("kind", "state", "last_error")
    assert world.books(invoice.number).total == invoice.total
