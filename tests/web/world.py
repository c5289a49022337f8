"""Helpers for the web tests: sign-in credentials and the OAuth round trip through the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

PASSWORD = "correct horse battery"


def connect(client, xero_sandbox, xero_app, organisation, tenant_id):
    start = client.post("/connections/xero/connect/", {"organisation": str(organisation.pk)})
    assert start.status_code == 302, start.content.decode()
    query = {k: v[0] for k, v in parse_qs(urlparse(start["Location"]).query).items()}
    assert query["code_challenge_method"] == "S256"
    code = xero_sandbox.control.consent(
        xero_app.client_id,
        [tenant_id],
        query["scope"],
        redirect_uri=query["redirect_uri"],
        state=query["state"],
        code_challenge=query["code_challenge"],
    )
    return client.get("/connections/xero/callback/", {"code": code, "state": query["state"]})
