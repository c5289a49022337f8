"""``/batch`` and ``requestid`` over HTTP (quickbooks.md §3, §4, §10 items 18-19): the 30-item limit, faults
per item inside a 200, no visibility of objects created earlier in the same batch, query and void items,
and replay of the first answer for a repeated requestid, failures included, within the window."""

from __future__ import annotations

import requests

from .qbo import QBO, assert_fault, sales_line


def _batch(qbo: QBO, items: list[dict], **params: str) -> requests.Response:
    return qbo.post("/batch", {"BatchItemRequest": items}, params=params)


def test_items_fault_alone_inside_a_200(qbo: QBO) -> None:
    existing = qbo.customer("Taken Name")
    items = [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Fresh One"}},
        {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Taken Name"}},
        {"bId": "b3", "Query": f"select * from Customer where Id = '{existing['Id']}'"},
    ]
    response = _batch(qbo, items)
    assert response.status_code == 200 and response.headers["intuit_tid"]
    answers = {a["bId"]: a for a in response.json()["BatchItemResponse"]}
    assert answers["b1"]["Customer"]["DisplayName"] == "Fresh One"
    fault = answers["b2"]["Fault"]
    assert fault["type"] == "ValidationFault" and fault["Error"][0]["code"] == "6240"
    assert answers["b3"]["QueryResponse"]["Customer"][0]["Id"] == existing["Id"]


def test_items_cannot_see_what_earlier_items_created(qbo: QBO) -> None:
    first = _batch(qbo, [{"bId": "c", "operation": "create", "Customer": {"DisplayName": "Brand New"}}])
    created = first.json()["BatchItemResponse"][0]["Customer"]
    items = [
        {"bId": "n", "operation": "create", "Customer": {"DisplayName": "Newer"}},
        {
            "bId": "i",
            "operation": "create",
            "Invoice": {"CustomerRef": {"value": str(int(created["Id"]) + 1)}, "Line": [sales_line(5)]},
        },
        {"bId": "q", "Query": "select * from Customer where DisplayName = 'Newer'"},
        {
            "bId": "ok",
            "operation": "create",
            "Invoice": {"CustomerRef": {"value": created["Id"]}, "Line": [sales_line(5)]},
        },
    ]
    answers = {a["bId"]: a for a in _batch(qbo, items).json()["BatchItemResponse"]}
    assert answers["n"]["Customer"]["Id"] == str(int(created["Id"]) + 1)
    assert answers["i"]["Fault"]["Error"][0] == {
        **answers["i"]["Fault"]["Error"][0],
        "code": "2500",
        "element": "CustomerRef",
    }
    assert answers["q"]["QueryResponse"] == {}
    assert answers["ok"]["Invoice"]["TotalAmt"] == 5.0


def test_update_delete_and_void_items(qbo: QBO) -> None:
    customer = qbo.customer()
    keep, void, drop = (qbo.invoice(customer["Id"], [sales_line(10)]) for _ in range(3))
    items = [
        {
            "bId": "u",
            "operation": "update",
            "Invoice": {"Id": keep["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "n"},
        },
        {
            "bId": "v",
            "operation": "update",
            "optionsData": "void",
            "Invoice": {"Id": void["Id"], "SyncToken": "0"},
        },
        {"bId": "d", "operation": "delete", "Invoice": {"Id": drop["Id"], "SyncToken": "0"}},
        {"bId": "s", "operation": "update", "Invoice": {"Id": keep["Id"], "SyncToken": "0", "sparse": True}},
    ]
    answers = {a["bId"]: a for a in _batch(qbo, items).json()["BatchItemResponse"]}
    assert answers["u"]["Invoice"]["PrivateNote"] == "n"
    assert answers["v"]["Invoice"]["TotalAmt"] == 0.0
    assert answers["d"]["Invoice"]["status"] == "Deleted"
    assert answers["s"]["Fault"]["Error"][0]["code"] == "5010"


def test_size_and_id_limits(qbo: QBO) -> None:
    many = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"N{i}"}} for i in range(31)]
    assert_fault(_batch(qbo, many), 400, "1040")
    assert len(_batch(qbo, many[:30]).json()["BatchItemResponse"]) == 30
    assert _batch(qbo, []).json()["BatchItemResponse"] == []
    long_bid = [{"bId": "x" * 11, "operation": "create", "Customer": {"DisplayName": "L"}}]
    assert_fault(_batch(qbo, long_bid, requestid="r-1"), 400, "2050", "bId")
    assert _batch(qbo, long_bid).status_code == 200  # python-quickbooks' 36-character bIds without requestid
    assert_fault(_batch(qbo, [], requestid="r" * 37), 400, "2050", "requestid")
    assert _batch(qbo, [], requestid="r" * 36).status_code == 200


def test_batch_replay_by_requestid(qbo: QBO) -> None:
    items = [{"bId": "one", "operation": "create", "Customer": {"DisplayName": "Replayed"}}]
    first = _batch(qbo, items, requestid="batch-1")
    again = _batch(qbo, items, requestid="batch-1")
    assert again.content == first.content
    assert qbo.query("select count(*) from Customer").json()["QueryResponse"]["totalCount"] == 1


def test_requestid_replays_the_first_answer(qbo: QBO) -> None:
    customer = qbo.customer()
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(10)]}
    first = qbo.post("/invoice", body, params={"requestid": "cf-inv-9-v1"})
    replay = qbo.post("/invoice", {**body, "PrivateNote": "changed"}, params={"requestid": "cf-inv-9-v1"})
    assert (replay.status_code, replay.content) == (200, first.content)
    assert replay.headers["intuit_tid"] != first.headers["intuit_tid"]  # a new transaction, the old answer
    count = qbo.query("select count(*) from Invoice").json()["QueryResponse"]["totalCount"]
    assert count == 1
    assert (
        qbo.post("/invoice", body, params={"requestid": "cf-inv-9-v2"}).json()["Invoice"]["Id"]
        != first.json()["Invoice"]["Id"]
    )


def test_requestid_replays_failures_and_lapses(qbo: QBO) -> None:
    qbo.customer("Dup")
    failed = qbo.post("/customer", {"DisplayName": "Dup"}, params={"requestid": "c-1"})
    assert_fault(failed, 400, "6240")
    assert (
        qbo.post("/customer", {"DisplayName": "Other"}, params={"requestid": "c-1"}).content == failed.content
    )
    qbo.sandbox.control.advance_clock(86_400)  # the default window: a day of sandbox time
    qbo.tokens = qbo.refresh().json()
    assert qbo.post("/customer", {"DisplayName": "Other"}, params={"requestid": "c-1"}).status_code == 200


def test_requestid_is_per_company_and_at_most_50(qbo: QBO) -> None:
    from .qbo import connect

    other = connect(qbo.sandbox)
    made = qbo.post("/customer", {"DisplayName": "Shared Key"}, params={"requestid": "same"}).json()
    elsewhere = other.post("/customer", {"DisplayName": "Shared Key"}, params={"requestid": "same"}).json()
    assert made["Customer"]["Id"] == elsewhere["Customer"]["Id"]  # same seed numbering, separate books
    assert other.sandbox.control.ledger(other.realm)["Customer"][0]["DisplayName"] == "Shared Key"
    assert_fault(
        qbo.post("/customer", {"DisplayName": "Z"}, params={"requestid": "k" * 51}), 400, "2050", "requestid"
    )
