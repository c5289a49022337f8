"""Helpers for the QuickBooks half of the sandbox suite: a connected app+company with a bearer token,
speaking real HTTP, and assertions on QBO's fault shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from ledgerlink.devtools.sandboxes import RunningSandbox, SandboxApp

REDIRECT = "http://localhost:8000/quickbooks/callback"
SCOPE = "com.intuit.quickbooks.accounting"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"


@dataclass
class QBO:
    """A connected client: one app, one company (realm), one token set, a keep-alive session."""

    sandbox: RunningSandbox
    app: SandboxApp
    realm: str
    tokens: dict[str, Any]
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def api(self) -> str:
        return f"{self.sandbox.base_url}/v3/company/{self.realm}"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any):
        headers = {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "Accept": "application/json",
            **kwargs.pop("headers", {}),
        }
        query = {"minorversion": "75", **(params or {})}
        return self.session.request(method, self.api + path, headers=headers, params=query, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json=body, **kwargs)

    def query(self, statement: str) -> requests.Response:
        return self.call("POST", "/query", data=statement, headers={"Content-Type": "application/text"})

    def create(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        response = self.post(f"/{entity.lower()}", body, params=params)
        assert response.status_code == 200, response.text
        return response.json()[entity]

    def token(self, **form: str) -> requests.Response:
        return requests.post(
            self.sandbox.base_url + TOKEN_PATH,
            data=form,
            auth=(self.app.client_id, self.app.client_secret),
            headers={"Accept": "application/json"},
        )

    def refresh(self, refresh_token: str | None = None, **headers: str) -> requests.Response:
        return requests.post(
            self.sandbox.base_url + TOKEN_PATH,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token or self.tokens["refresh_token"],
            },
            auth=(self.app.client_id, self.app.client_secret),
            headers={"Accept": "application/json", **headers},
        )

    def customer(self, name: str = "Sunny Homes") -> dict[str, Any]:
        return self.create("Customer", {"DisplayName": name})

    def invoice(
        self, customer_id: str, lines: list[dict[str, Any]] | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"CustomerRef": {"value": customer_id}, "Line": lines or [sales_line(100)], **fields}
        return self.create("Invoice", body)


def sales_line(
    amount: float | str, qty: float | str = 1, tax: str = "NON", item: str = "1"
) -> dict[str, Any]:
    """A SalesItemLine on the seeded "Services" item (Id 1), its UnitPrice derived from Amount and Qty."""
    unit = float(amount) / float(qty)
    detail = {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": unit, "TaxCodeRef": {"value": tax}}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}


def connect(sandbox: RunningSandbox, region: str = "US", scope: str = SCOPE, **company: Any) -> QBO:
    """A fresh app and company, consented and exchanged for tokens (fresh so tests never share budgets)."""
    control = sandbox.control
    app = control.create_app([REDIRECT])
    realm = control.create_company(region, **company)
    code = control.consent(app.client_id, [realm], scope, redirect_uri=REDIRECT, state="s")
    response = requests.post(
        sandbox.base_url + TOKEN_PATH,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(app.client_id, app.client_secret),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return QBO(sandbox, app, realm, response.json())


def assert_fault(response: requests.Response, status: int, code: str, element: str | None = None) -> dict:
    """QBO's upper-case Fault: one Error with Message, Detail, a string code and element; a ``time``."""
    assert response.status_code == status, response.text
    assert response.headers.get("intuit_tid")
    body = response.json()
    assert set(body) == {"Fault", "time"}, body
    error = body["Fault"]["Error"][0]
    assert set(error) == {"Message", "Detail", "code", "element"}, error
    assert error["code"] == code, error
    assert body["Fault"]["type"]
    if element is not None:
        assert error["element"] == element, error
    return error
