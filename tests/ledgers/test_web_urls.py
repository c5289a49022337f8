"""Deep links into each ledger's own app (`Ledger.web_url`): built by the ledger's package from its
settings, ids escaped, nothing for kinds the app shows no page for; and the sandboxes, which stand in for
those apps, send a link to the tenant's ledger page at the object's row, or 404 for an id they do not hold."""

from __future__ import annotations

import pytest
import requests

from ledgerlink.ledgers.contract import ObjectKind
from ledgerlink.ledgers.registry import LEDGERS

from .harness import HARNESSES


@pytest.fixture(params=sorted(LEDGERS))
def ledger_and_harness(request, settings):
    harness = HARNESSES[request.param](request)
    harness.configure(settings)  # the sandbox stands in for the app too
    return LEDGERS[request.param], harness


def test_links_are_built_from_the_settings_with_ids_escaped(ledger_and_harness):
    ledger, harness = ledger_and_harness
    url = ledger.web_url("tenant-1", ObjectKind.INVOICE, "a/b?c&d")
    assert url.startswith(harness.sandbox.base_url + "/")
    assert "a%2Fb%3Fc%26d" in url and "a/b" not in url
    assert ledger.web_url("tenant-1", ObjectKind.INVOICE, "") == ""  # not in the ledger yet
    assert ledger.web_url("tenant-1", ObjectKind.PAYMENT_REVERSAL, "x") == ""  # no page of its own


def test_the_sandbox_answers_a_link_to_an_id_it_does_not_hold_with_404(ledger_and_harness):
    ledger, harness = ledger_and_harness
    tenant_id = harness.new_tenant("Links Pty Ltd")
    for kind in ObjectKind:
        url = ledger.web_url(tenant_id, kind, "no-such-id")
        if url:
            assert requests.get(url, allow_redirects=False, timeout=10).status_code == 404, url
