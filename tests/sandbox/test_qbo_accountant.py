"""What an accountant or another user does in QuickBooks meanwhile, as the sandbox's control API plays it:
an edit that makes a client's SyncToken stale (`stale_sync_token`), books closed through a date (6210), tax
codes made inactive, and a refresh whose answer is lost on the way back."""

from __future__ import annotations

import pytest
import requests

from .qbo import QBO, assert_fault, connect, sales_line


@pytest.fixture
def au(qbo_sandbox):
    company = connect(qbo_sandbox, "AU")
    yield company
    qbo_sandbox.control.clear_faults()


def _au_line(amount: str) -> dict:
    return sales_line(amount, tax="4")


def test_a_concurrent_edit_makes_the_next_update_stale_and_a_fresh_read_succeeds(au: QBO) -> None:
    invoice = au.invoice(au.customer()["Id"], [_au_line("100.00")])
    au.sandbox.control.set_faults(
        {"kind": "stale_sync_token", "tenant_id": au.realm, "method": "POST", "path": "*/invoice", "count": 1}
    )
    update = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "x"}
    assert_fault(au.post("/invoice", update), 400, "5010")
    current = au.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert current["SyncToken"] == str(int(invoice["SyncToken"]) + 1)  # someone else saved it
    saved = au.post("/invoice", {**update, "SyncToken": current["SyncToken"]})
    assert saved.status_code == 200 and saved.json()["Invoice"]["PrivateNote"] == "x"


def test_books_closed_through_a_date_refuse_transactions_on_or_before_it(au: QBO) -> None:
    au.sandbox.control.update_settings(au.realm, book_close_date="2026-09-30")
    customer = au.customer()["Id"]
    refused = au.post(
        "/invoice", {"CustomerRef": {"value": customer}, "Line": [_au_line("10")], "TxnDate": "2026-09-30"}
    )
    assert_fault(refused, 400, "6210", "TxnDate")
    assert au.invoice(customer, [_au_line("10")], TxnDate="2026-10-01")["TxnDate"] == "2026-10-01"
    au.sandbox.control.update_settings(au.realm, book_close_date=None)
    assert au.invoice(customer, [_au_line("10")], TxnDate="2026-09-01")["TxnDate"] == "2026-09-01"


def test_inactive_tax_codes_are_listed_inactive_and_can_be_made_active_again(au: QBO) -> None:
    def active() -> dict[str, bool]:
        listed = au.query("select * from TaxCode where Active in (true, false)").json()
        rows = listed["QueryResponse"]["TaxCode"]
        return {row["Id"]: row["Active"] for row in rows}

    au.sandbox.control.update_settings(au.realm, inactive_tax_codes=["6", "8"])
    assert active() == {"4": True, "6": False, "8": False}
    au.sandbox.control.update_settings(au.realm, inactive_tax_codes=[])
    assert set(active().values()) == {True}


def test_a_refresh_answer_lost_on_the_way_back_leaves_the_same_token_usable(au: QBO) -> None:
    control = au.sandbox.control
    control.set_faults({"kind": "token_response_lost", "client_id": au.app.client_id, "count": 1})
    with pytest.raises(requests.ConnectionError):
        au.refresh()
    again = au.refresh()  # a refresh token under a day old comes back unchanged (quickbooks.md)
    assert again.status_code == 200
    assert again.json()["refresh_token"] == au.tokens["refresh_token"]


def test_bad_edits_are_refused(au: QBO) -> None:
    from ledgerlink.devtools.sandboxes import SandboxError

    for settings in ({"book_close_date": "30/09/2026"}, {"inactive_tax_codes": "6"}):
        with pytest.raises(SandboxError, match="400"):
            au.sandbox.control.update_settings(au.realm, **settings)
