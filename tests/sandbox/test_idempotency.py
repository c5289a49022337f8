"""Idempotency-Key (xero.md §4, §10 item 8): first response kept for 6 minutes and replayed byte for byte,
no second write, mismatches refused, replays still counted, internal errors cached, concurrent duplicates."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from .conftest import FULL_SCOPE, REDIRECT, Xero, connect


def _invoice_body(contact_id: str, number: str, amount: float = 100) -> dict:
    line = {"Description": "Panel", "Quantity": 1, "UnitAmount": amount, "AccountCode": "200"}
    return {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "InvoiceNumber": number,
                "Status": "AUTHORISED",
                "LineItems": [line],
            }
        ]
    }


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_replay_is_byte_for_byte_and_writes_once(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    first = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-1"), headers=key)
    replay = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-1"), headers=key)
    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    assert replay.headers["Content-Type"] == first.headers["Content-Type"]
    assert len(xero.sandbox.control.ledger(xero.tenant_id)["Invoices"]) == 1
    log = xero.sandbox.control.requests(xero.tenant_id, method="PUT", path="*/Invoices")
    assert [(r["idempotency_key"], r["replayed"]) for r in log] == [
        (key["Idempotency-Key"], False),
        (key["Idempotency-Key"], True),
    ]


def test_replays_still_count_against_the_limits(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    first = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-2"), headers=key)
    replay = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-2"), headers=key)
    assert int(first.headers["X-DayLimit-Remaining"]) - int(replay.headers["X-DayLimit-Remaining"]) == 1


def test_same_key_different_request_is_refused(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    assert xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-3"), headers=key).status_code == 200
    different = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-3", amount=101), headers=key)
    assert different.status_code == 400
    assert "Idempotency-Key" in different.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert len(xero.sandbox.control.ledger(xero.tenant_id)["Invoices"]) == 1


def test_key_expires_after_six_minutes(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-4"), headers=key)
    xero.sandbox.control.advance_clock(361)  # the access token (30 minutes) is still valid
    again = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-4"), headers=key)
    assert again.status_code == 400  # executed again: the number now clashes
    assert again.json()["Elements"][0]["ValidationErrors"][0]["Message"] == "Invoice # must be unique."


def test_internal_error_is_cached_and_replayed(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    xero.sandbox.control.set_faults({"kind": "server_error", "count": 1, "tenant_id": xero.tenant_id})
    first = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-5"), headers=key)
    replay = xero.put("/Invoices", _invoice_body(contact["ContactID"], "IK-5"), headers=key)
    assert (first.status_code, replay.status_code, replay.content) == (500, 500, first.content)
    assert xero.sandbox.control.ledger(xero.tenant_id)["Invoices"] == []


def test_overlong_key_is_refused(xero: Xero) -> None:
    response = xero.put("/Contacts", {"Contacts": [{"Name": "x"}]}, headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 400
    assert xero.sandbox.control.ledger(xero.tenant_id)["Contacts"] == []


def test_concurrent_duplicate_waits_for_the_first(xero: Xero) -> None:
    contact = xero.contact()
    key = _key()
    body = _invoice_body(contact["ContactID"], "IK-6")
    xero.sandbox.control.set_faults(
        {"kind": "latency", "latency_ms": 300, "tenant_id": xero.tenant_id, "method": "PUT", "count": 1}
    )
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(requests.put, xero.api + "/Invoices", json=body, headers=xero.headers(**key))
                for _ in range(2)
            ]
            responses = [f.result() for f in futures]
    finally:
        xero.sandbox.control.clear_faults()
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].content == responses[1].content
    assert len(xero.sandbox.control.ledger(xero.tenant_id)["Invoices"]) == 1


def test_a_scope_refusal_is_not_cached_under_the_key(sandbox, contract) -> None:
    narrow = connect(sandbox, scope="offline_access accounting.contacts.read", contract=contract)
    key = _key()
    assert narrow.put("/Contacts", {"Contacts": [{"Name": "Scoped"}]}, headers=key).status_code == 401
    app, tenant = narrow.app.client_id, narrow.tenant_id
    code = sandbox.control.consent(app, [tenant], FULL_SCOPE, redirect_uri=REDIRECT)
    narrow.tokens = narrow.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    assert narrow.put("/Contacts", {"Contacts": [{"Name": "Scoped"}]}, headers=key).status_code == 200
