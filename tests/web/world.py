"""Helpers for the web tests: sign-in credentials and the OAuth round trip through the sandbox."""

from __future__ import annotations

PASSWORD = "correct horse battery"


def connect(client, xero_sandbox, organisation, tenant_id):
    """Press Connect, consent in the sandbox for `tenant_id`, come back to the callback."""
    start = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    assert start.status_code == 302, start.content.decode()
    assert "code_challenge_method=S256" in start["Location"]
    code, state = xero_sandbox.control.consent_to(start["Location"], [tenant_id])
    return client.get("/connections/xero/callback/", {"code": code, "state": state})
