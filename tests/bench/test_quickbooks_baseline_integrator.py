"""The bench's python-quickbooks integrator keeps going when its hour-long access token runs out, as a
100,000-invoice backfill's does: a 401 refreshes through intuit-oauth once and sends again."""

import pytest

from bench.quickbooks_baseline import Integrator


def test_a_401_refreshes_the_tokens_and_sends_again(quickbooks_sandbox):
    realm = quickbooks_sandbox.control.create_company("AU", "Baseline refresh")
    integrator = Integrator(quickbooks_sandbox, realm, time_scale=1.0)
    integrator.connect()
    before = integrator.auth.access_token
    assert quickbooks_sandbox.control.expire_tokens(client_id=integrator.app.client_id) >= 1
    item, gst, bank = integrator.codes()
    assert integrator.auth.access_token != before
    assert integrator.identity_calls == 3  # discovery, code exchange, one refresh
    assert integrator.by_endpoint["query Account"] == 2  # refused once with 401, then answered
    assert item and gst and bank


def test_a_refused_refresh_is_not_retried_for_ever(quickbooks_sandbox):
    from quickbooks.exceptions import AuthorizationException

    realm = quickbooks_sandbox.control.create_company("AU", "Baseline revoked")
    integrator = Integrator(quickbooks_sandbox, realm, time_scale=1.0)
    integrator.connect()
    integrator.refresh = lambda: None  # a refresh that brings back the same spent token
    quickbooks_sandbox.control.expire_tokens(client_id=integrator.app.client_id)
    with pytest.raises(AuthorizationException):
        integrator.codes()
    assert integrator.by_endpoint["query Account"] == 2
