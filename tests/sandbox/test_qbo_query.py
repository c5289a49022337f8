"""The query language over HTTP (quickbooks.md §2.9, §10 item 16): the look-ups a connector and the
official client send, paging, ordering in both spellings, GET and ``application/text`` POST, and the 400s."""

from __future__ import annotations

import pytest

from .qbo import QBO, assert_fault, sales_line


@pytest.fixture
def books(qbo: QBO) -> QBO:
    for name in ("Alpha Solar", "Beta O'Brien", "Gamma Roofs"):
        qbo.customer(name)
    customer = qbo.customer("Delta Homes")
    for number in ("CF-3", "CF-1", "CF-2"):
        qbo.invoice(customer["Id"], [sales_line(10)], DocNumber=number)
    return qbo


def _names(qbo: QBO, statement: str) -> list[str]:
    response = qbo.query(statement)
    assert response.status_code == 200, response.text
    return [c["DisplayName"] for c in response.json()["QueryResponse"].get("Customer", [])]


def test_where_equals_in_like_and_escaped_quotes(books: QBO) -> None:
    assert _names(books, "SELECT * FROM Customer WHERE DisplayName = 'alpha solar'") == ["Alpha Solar"]
    assert _names(books, r"SELECT * FROM Customer WHERE DisplayName = 'Beta O\'Brien'") == ["Beta O'Brien"]
    assert _names(books, "select * from Customer where DisplayName like '%Roofs'") == ["Gamma Roofs"]
    ids = books.query("select * from Customer").json()["QueryResponse"]["Customer"]
    wanted = ",".join(f"'{c['Id']}'" for c in ids[:2])
    assert _names(books, f"select * from Customer where Id in ({wanted}) and Active = true") == [
        "Alpha Solar",
        "Beta O'Brien",
    ]


def test_order_by_both_spellings_and_paging(books: QBO) -> None:
    def numbers(statement: str) -> list[str]:
        return [i["DocNumber"] for i in books.query(statement).json()["QueryResponse"]["Invoice"]]

    assert numbers("SELECT * FROM Invoice ORDER BY DocNumber") == ["CF-1", "CF-2", "CF-3"]
    assert numbers("SELECT * FROM Invoice WHERE TotalAmt > '5' ORDERBY DocNumber DESC") == [
        "CF-3",
        "CF-2",
        "CF-1",
    ]
    page = books.query("SELECT * FROM Invoice ORDERBY DocNumber STARTPOSITION 2 MAXRESULTS 1").json()
    assert page["QueryResponse"]["startPosition"] == 2 and page["QueryResponse"]["maxResults"] == 1
    assert [i["DocNumber"] for i in page["QueryResponse"]["Invoice"]] == ["CF-2"]


def test_count_get_and_empty_answers(books: QBO) -> None:
    count = books.get("/query", params={"query": "select count(*) from Invoice"})
    assert count.status_code == 200 and count.json()["QueryResponse"] == {"totalCount": 3}
    empty = books.query("select * from Customer where DisplayName = 'nobody'")
    assert empty.json()["QueryResponse"] == {} and "time" in empty.json()
    assert books.query("select * from Class where Active = true").json()["QueryResponse"] == {}
    items = books.query("SELECT *, Sku FROM Item MAXRESULTS 1000").json()["QueryResponse"]["Item"]
    assert [i["Name"] for i in items] == ["Services"]


def test_inactive_rows_only_when_active_is_queried(books: QBO) -> None:
    gone = books.customer("Old Client")
    books.create("Customer", {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert "Old Client" not in _names(books, "select * from Customer")
    assert "Old Client" in _names(books, "select * from Customer where Active in (true, false)")


def test_metadata_time_filter(books: QBO) -> None:
    since = books.query("select * from Invoice").json()["QueryResponse"]["Invoice"][0]["MetaData"][
        "CreateTime"
    ]
    rows = books.query(f"select * from Invoice where MetaData.LastUpdatedTime >= '{since}'").json()
    assert len(rows["QueryResponse"]["Invoice"]) == 3


@pytest.mark.parametrize(
    "statement",
    [
        "select * from Customer where DisplayName = 'a' or DisplayName = 'b'",
        "select * from Customer join Invoice",
        "select * from Nonsense",
        "select * Customer",
        "select * from Customer where DisplayName = ",
    ],
)
def test_unsupported_queries_are_400(books: QBO, statement: str) -> None:
    error = assert_fault(books.query(statement), 400, "4000")
    assert error["Detail"].startswith("QueryParserError")
