"""Helpers for the sandbox suite: a connected app+tenant with a bearer token, speaking real HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from ledgerlink.devtools.sandboxes import RunningSandbox, SandboxApp

from .contract import Contract

REDIRECT = "http://localhost:8000/xero/callback"
LINE_ITEM = {"Description": "Panel", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}
FULL_SCOPE = (
    "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings"
)


@dataclass
class Xero:
    """A connected client: one app, one tenant, one token set, a keep-alive session."""

    sandbox: RunningSandbox
    app: SandboxApp
    tenant_id: str
    tokens: dict[str, Any]
    contract: Contract | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return self.sandbox.base_url + "/api.xro/2.0"

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "xero-tenant-id": self.tenant_id,
            "Accept": "application/json",
            **extra,
        }

    def call(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any):
        """One Accounting call; every response is checked against the contract (tests/sandbox/contract.py)."""
        url = self.api + path
        response = self.session.request(method, url, headers=self.headers(**(headers or {})), **kwargs)
        if self.contract is not None:
            self.contract.check(response)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, json=body, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json=body, **kwargs)

    def token(self, **form: str) -> requests.Response:
        return requests.post(
            self.sandbox.base_url + "/connect/token",
            data=form,
            auth=(self.app.client_id, self.app.client_secret),
        )

    def refresh(self, refresh_token: str | None = None) -> requests.Response:
        return self.token(
            grant_type="refresh_token", refresh_token=refresh_token or self.tokens["refresh_token"]
        )

    def contact(self, name: str = "Sunny Homes") -> dict[str, Any]:
        response = self.put("/Contacts", {"Contacts": [{"Name": name}]})
        assert response.status_code == 200, response.text
        return response.json()["Contacts"][0]

    def invoice(self, contact_id: str, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        body = {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "LineItems": lines, **fields}
        response = self.put("/Invoices", {"Invoices": [body]})
        assert response.status_code == 200, response.text
        return response.json()["Invoices"][0]


def connect(
    sandbox: RunningSandbox,
    region: str = "AU",
    scope: str = FULL_SCOPE,
    contract: Contract | None = None,
    **tenant_kwargs: Any,
) -> Xero:
    """A fresh app and tenant, consented and exchanged for tokens (fresh so tests never share budgets)."""
    control = sandbox.control
    app = control.create_app([REDIRECT])
    tenant_id = control.create_tenant(region, **tenant_kwargs)
    code = control.consent(app.client_id, [tenant_id], scope, redirect_uri=REDIRECT, state="s")
    response = requests.post(
        sandbox.base_url + "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(app.client_id, app.client_secret),
    )
    assert response.status_code == 200, response.text
    return Xero(sandbox, app, tenant_id, response.json(), contract)


@pytest.fixture(scope="session")
def sandbox():
    """This suite's own sandbox: its tests move the clock and switch faults, which must not reach the
    shared `xero_sandbox` other areas hold tokens on."""
    from ledgerlink.devtools.sandboxes import start_sandbox

    running = start_sandbox("xero")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def contract(sandbox: RunningSandbox) -> Contract:
    """The official spec loaded once per session (per xdist worker), bound to the suite's sandbox."""
    return Contract(sandbox.base_url)


@pytest.fixture
def xero(sandbox: RunningSandbox, contract: Contract) -> Xero:
    """A new app+tenant connected to the suite's sandbox; every response it gets is contract-checked."""
    return connect(sandbox, contract=contract)


@pytest.fixture(scope="session")
def scaled_sandbox():
    """A second sandbox whose clock runs 60x: one real second is one sandbox minute."""
    from ledgerlink.devtools.sandboxes import start_sandbox

    sandbox = start_sandbox("xero", time_scale=60)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def qbo_sandbox():
    """This suite's own QuickBooks sandbox (its tests move the clock and switch faults)."""
    from ledgerlink.devtools.sandboxes import start_sandbox

    running = start_sandbox("quickbooks")
    yield running
    running.stop()


@pytest.fixture
def qbo(qbo_sandbox: RunningSandbox):
    """A new app and US company connected to the suite's QuickBooks sandbox."""
    from .qbo import connect as connect_qbo

    return connect_qbo(qbo_sandbox)
