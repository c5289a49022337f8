"""A deliberately simple Xero client for the benchmark's own use (seeding a tenant's contacts, the naive
mode): plain `requests`, one call at a time, Retry-After honoured, a refresh when the token expires. It is
not the product's connector and shares nothing with it but the wire format."""

from __future__ import annotations

import time
from typing import Any

import requests

from ledgerlink.devtools.sandboxes import RunningSandbox

SCOPES = "offline_access accounting.contacts accounting.settings accounting.invoices accounting.payments"
REDIRECT_URI = "http://127.0.0.1/bench/callback"


class SimpleXero:
    """One tenant through its own OAuth app. `calls` counts every HTTP request it made (429s included)."""

    def __init__(self, sandbox: RunningSandbox, tenant_id: str, *, on_day_limit: Any = None) -> None:
        self.sandbox, self.tenant_id = sandbox, tenant_id
        self.base = sandbox.base_url
        self.http = requests.Session()
        self.calls = 0
        self.on_day_limit = on_day_limit  # called with Retry-After seconds instead of sleeping a day
        app = sandbox.control.create_app([REDIRECT_URI], name="bench client")
        self.client = (app.client_id, app.client_secret)
        code = sandbox.control.consent(app.client_id, [tenant_id], SCOPES, redirect_uri=REDIRECT_URI)
        self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
        self.get_raw("/connections")

    def _token(self, form: dict[str, str]) -> None:
        self.calls += 1
        answer = self.http.post(f"{self.base}/connect/token", data=form, auth=self.client, timeout=30)
        answer.raise_for_status()
        tokens = answer.json()
        self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]

    def get_raw(self, path: str) -> Any:
        return self._send("GET", f"{self.base}{path}", None, None)

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._send("GET", f"{self.base}/api.xro/2.0{path}", params, None)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("PUT", f"{self.base}/api.xro/2.0{path}", None, body)

    def _send(self, method: str, url: str, params: dict[str, str] | None, body: Any) -> Any:
        while True:
            self.calls += 1
            headers = {"Authorization": f"Bearer {self.access}", "Accept": "application/json"}
            headers["xero-tenant-id"] = self.tenant_id
            answer = self.http.request(method, url, params=params, json=body, headers=headers, timeout=30)
            if answer.status_code == 401 and "TokenExpired" in answer.text:
                self._token({"grant_type": "refresh_token", "refresh_token": self.refresh})
                continue
            if answer.status_code == 429:
                self._wait(answer)
                continue
            if answer.status_code != 200:
                raise RuntimeError(f"{method} {url} -> {answer.status_code}: {answer.text[:300]}")
            return answer.json()

    def _wait(self, answer: requests.Response) -> None:
        wait = float(answer.headers.get("Retry-After") or 1)
        if answer.headers.get("X-Rate-Limit-Problem") == "day" and self.on_day_limit is not None:
            self.on_day_limit(wait)
        else:
            time.sleep(wait)


def seed_contacts(client: SimpleXero, contacts: list[dict[str, str]], batch: int = 50) -> list[str]:
    """Create contacts in the tenant (PUT batches); returns their ContactIDs."""
    ids: list[str] = []
    for start in range(0, len(contacts), batch):
        answer = client.put("/Contacts", {"Contacts": contacts[start : start + batch]})
        ids += [element["ContactID"] for element in answer["Contacts"]]
    return ids
