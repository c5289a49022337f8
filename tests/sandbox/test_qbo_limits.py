"""Throttling and fault injection in QBO's shapes over HTTP (quickbooks.md §5, §6, §10 items 20-21): the
per-company minute budget shared by every app, in-flight calls per app, the two batch budgets, how batch
items are metered (a company setting), and the control plane's faults rendered as QBO would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ledgerlink.devtools.sandboxes import RunningSandbox

from .qbo import QBO, REDIRECT, SCOPE, TOKEN_PATH, assert_fault, connect, sales_line


def _second_app(qbo: QBO) -> QBO:
    """Another app connected to the same company."""
    control = qbo.sandbox.control
    app = control.create_app([REDIRECT])
    code = control.consent(app.client_id, [qbo.realm], SCOPE, redirect_uri=REDIRECT)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    tokens = requests.post(
        qbo.sandbox.base_url + TOKEN_PATH, data=form, auth=(app.client_id, app.client_secret)
    )
    return QBO(qbo.sandbox, app, qbo.realm, tokens.json())


def _throttled(response: requests.Response) -> dict:
    error = assert_fault(response, 429, "3001")
    assert error["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    return error


def _batch(qbo: QBO, size: int = 1) -> requests.Response:
    items = [{"bId": str(i), "Query": "select * from Term"} for i in range(size)]
    return qbo.post("/batch", {"BatchItemRequest": items})


def test_minute_budget_is_per_company_across_apps(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, limits={"per_minute": 4})
    other = _second_app(qbo)
    # four calls take milliseconds: a fixed minute window is crossed in about one run in 10,000
    assert [c.get("/preferences").status_code for c in (qbo, other, qbo, other)] == [200] * 4
    refused = _throttled(qbo.get("/preferences"))
    assert "500 requests a minute" in refused["Detail"]
    assert 1 <= int(other.get("/preferences").headers["Retry-After"]) <= 60
    qbo_sandbox.control.advance_clock(60)
    assert other.get("/preferences").status_code == 200


def test_in_flight_per_app(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, limits={"in_flight": 2})
    qbo_sandbox.control.set_faults({"kind": "latency", "latency_ms": 300, "tenant_id": qbo.realm})
    try:
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: qbo.call("GET", "/preferences", headers={}), range(4)))
    finally:
        qbo_sandbox.control.clear_faults()
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 2 and all("Retry-After" not in r.headers for r in refused)
    assert "in flight" in _throttled(refused[0])["Detail"]


def test_batch_budgets_per_app_and_per_company(qbo_sandbox: RunningSandbox) -> None:
    qbo = connect(qbo_sandbox, limits={"batch_app_per_minute": 2, "batch_per_minute": 3})
    other = _second_app(qbo)
    assert [_batch(qbo).status_code for _ in range(2)] == [200, 200]
    assert "for this company and app." in _throttled(_batch(qbo))["Detail"]
    assert qbo.get("/preferences").status_code == 200  # plain calls are not batch-limited
    assert _batch(other).status_code == 200
    assert "for this company." in _throttled(_batch(other))["Detail"]


@pytest.mark.parametrize(("metering", "after_a_ten_item_batch"), [("item", 429), ("request", 200)])
def test_batch_items_metered_as_the_company_setting_says(
    qbo_sandbox: RunningSandbox, metering: str, after_a_ten_item_batch: int
) -> None:
    qbo = connect(qbo_sandbox, limits={"per_minute": 11}, settings={"batch_metering": metering})
    assert _batch(qbo, 10).status_code == 200
    qbo.get("/preferences")
    assert qbo.get("/preferences").status_code == after_a_ten_item_batch


@pytest.mark.parametrize(
    ("rule", "status", "code", "kind"),
    [
        ({"kind": "server_error"}, 500, "10000", "SystemFault"),
        ({"status": 503}, 503, "10000", "SystemFault"),
        ({"kind": "offline"}, 503, "10000", "SystemFault"),
        ({"kind": "rate_limit"}, 429, "3001", "ThrottleExceeded"),
    ],
)
def test_injected_faults_in_qbo_shapes(qbo: QBO, rule: dict, status: int, code: str, kind: str) -> None:
    qbo.sandbox.control.set_faults({"tenant_id": qbo.realm, "count": 1, **rule})
    try:
        failed = qbo.get("/preferences")
        assert assert_fault(failed, status, code) and failed.json()["Fault"]["type"] == kind
        assert qbo.get("/preferences").status_code == 200
    finally:
        qbo.sandbox.control.clear_faults()


@pytest.mark.parametrize("kind", ["token_expired", "token_revoked"])
def test_token_faults_are_gateway_401s(qbo: QBO, kind: str) -> None:
    qbo.sandbox.control.set_faults({"tenant_id": qbo.realm, "count": 1, "kind": kind})
    response = qbo.get("/preferences")
    assert response.status_code == 401 and response.json()["fault"]["error"][0]["code"] == "3200"
    assert response.headers["intuit_tid"]


def test_drop_after_commit_then_requestid_replay(qbo: QBO) -> None:
    customer = qbo.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(10)]}
    qbo.sandbox.control.set_faults({"kind": "drop_after_commit", "path": "*/invoice", "count": 1})
    try:
        with pytest.raises(requests.ConnectionError):
            qbo.post("/invoice", body, params={"requestid": "lost-1"})
    finally:
        qbo.sandbox.control.clear_faults()
    replay = qbo.post("/invoice", body, params={"requestid": "lost-1"})
    assert replay.status_code == 200
    ledger = qbo.sandbox.control.ledger(qbo.realm)
    assert [i["Id"] for i in ledger["Invoice"]] == [replay.json()["Invoice"]["Id"]]
    log = qbo.sandbox.control.requests(qbo.realm, path="*/invoice")
    assert [(r["status"], r["idempotency_key"], r["replayed"]) for r in log] == [
        (0, "lost-1", False),
        (200, "lost-1", True),
    ]


def test_drop_commits_nothing(qbo: QBO) -> None:
    qbo.sandbox.control.set_faults({"kind": "drop", "path": "*/customer", "count": 1})
    with pytest.raises(requests.ConnectionError):
        qbo.post("/customer", {"DisplayName": "Never"})
    assert qbo.sandbox.control.ledger(qbo.realm)["Customer"] == []


def test_unknown_operation_and_json_only(qbo: QBO) -> None:
    assert_fault(qbo.post("/account", {"Name": "New"}), 400, "500")
    assert_fault(qbo.get("/widget/1"), 400, "500")
    xml = qbo.call("GET", "/preferences", headers={"Accept": "application/xml"})
    assert_fault(xml, 406, "500")


def test_reset_company_reseeds_and_keeps_the_connection(qbo: QBO) -> None:
    qbo.customer("Before Reset")
    qbo.sandbox.control.reset_tenant(qbo.realm)
    assert qbo.query("select * from Customer").json()["QueryResponse"] == {}
    assert qbo.sandbox.control.count(qbo.realm, path="*/query") == 1


def test_rate_limit_without_retry_after_in_qbo_shape(qbo: QBO) -> None:
    qbo.sandbox.control.set_faults({"tenant_id": qbo.realm, "count": 1, "kind": "rate_limit_no_retry_after"})
    storm = qbo.get("/preferences")
    assert _throttled(storm) and "Retry-After" not in storm.headers
    assert qbo.get("/preferences").status_code == 200


def test_stale_sync_token_is_another_users_save_before_the_write(qbo: QBO) -> None:
    customer = qbo.customer()
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(10)]})
    qbo.sandbox.control.set_faults(
        {"kind": "stale_sync_token", "tenant_id": qbo.realm, "path": "*/invoice", "count": 1}
    )
    try:
        edit = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "x"}
        assert_fault(qbo.post("/invoice", edit), 400, "5010")
    finally:
        qbo.sandbox.control.clear_faults()
    current = qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert current["SyncToken"] == "1" and "PrivateNote" not in current  # moved on, nothing else changed
    edit["SyncToken"] = current["SyncToken"]
    assert qbo.post("/invoice", edit).status_code == 200


def test_a_lost_token_answer_keeps_what_the_endpoint_did(qbo: QBO) -> None:
    control = qbo.sandbox.control
    control.set_faults({"kind": "token_response_lost", "client_id": qbo.app.client_id, "count": 1})
    with pytest.raises(requests.ConnectionError):
        qbo.refresh()
    # Within a day QuickBooks hands the same refresh token back, so the lost answer costs nothing.
    assert qbo.refresh().status_code == 200
