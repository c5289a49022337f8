"""What differs from the shared hostile-answer suite (tests/ledgers/test_hostile_answers.py) for QuickBooks:
its single writes (void, credit memo, payment delete, credit application) read one entity back, and its
look-ups read query pages over real HTTP from a loopback server that answers what the test says."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledgerlink.ledgers.contract import LedgerRequest, LedgerResponse, ObjectKind, SyncItem
from ledgerlink.ledgers.errors import LedgerError, Retry, UnknownOutcome
from ledgerlink.ledgers.quickbooks.client import QuickBooksClient
from ledgerlink.ledgers.quickbooks.ledger import QuickBooksLedger

from .. import documents as d
from ..hostile import reading_ledger

INVOICE = d.invoice("INV-00001")
CANCELLATION = d.cancellation(INVOICE, "1100.00", "100.00")
STEPS = {
    "void": ("/invoice", SyncItem("rec-1", ObjectKind.CANCELLATION, d.cancellation(INVOICE, "1100.00", "0"))),
    "credit_note": ("/creditmemo", SyncItem("rec-1", ObjectKind.CANCELLATION, CANCELLATION)),
    "allocate": (
        "/payment",
        SyncItem("rec-1", ObjectKind.CANCELLATION, CANCELLATION, remote_ids={"credit_note": "7"}),
    ),
    "delete_payment": ("/payment", SyncItem("rec-1", ObjectKind.PAYMENT_REVERSAL, CANCELLATION)),
}
ENTITY = {"void": "Invoice", "credit_note": "CreditMemo", "allocate": "Payment", "delete_payment": "Payment"}
HOSTILE_ENTITIES = ("<html>oops</html>", None, 5, [], {"Id": 7}, {"Id": ""}, {"Id": "x" * 1000}, {})


@pytest.mark.parametrize("entity", HOSTILE_ENTITIES)
@pytest.mark.parametrize("step", STEPS)
def test_a_single_writes_answer_we_cannot_trust_is_unknown(step, entity):
    path, item = STEPS[step]
    request = LedgerRequest("POST", path, (item,), step)
    response = LedgerResponse(200, {ENTITY[step]: entity}, {}, 1.0, "c-1")
    (outcome,) = reading_ledger().read(response, request)
    assert isinstance(outcome.error, UnknownOutcome) and outcome.remote is None


@pytest.mark.parametrize("step", STEPS)
def test_a_single_writes_fault_without_its_parts_is_still_an_error(step):
    path, item = STEPS[step]
    request = LedgerRequest("POST", path, (item,), step)
    for body in ({"Fault": {"Error": 7}}, {"Fault": "x"}, "<html>Bad Request</html>", None):
        (outcome,) = reading_ledger().read(LedgerResponse(400, body, {}, 1.0, "c-1"), request)
        assert isinstance(outcome.error, LedgerError) and outcome.remote is None


class _Answer(BaseHTTPRequestHandler):
    """Answers every GET with the server's `answer`: (content type, body bytes)."""

    def do_GET(self) -> None:
        content_type, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet
        return


@pytest.fixture
def answering(settings) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.QBO_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _ledger() -> QuickBooksLedger:
    return QuickBooksLedger(QuickBooksClient(access_token="t", realm_id="9130", organisation_id="1"))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>Service Unavailable</body></html>"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"QueryResponse": {"Invoice": 5}}'),
        ("application/json", b'{"QueryResponse": {"Invoice": [1, "x"]}}'),
        ("application/json", b'{"QueryResponse": {"Invoice": [{"Id": {"x": 1}, "DocNumber": "INV-1"}]}}'),
        ("application/json", b'{"QueryResponse": {"Invoice": [{"Id": "5", "TotalAmt": "lots"}]}}'),
        ("application/json", b'{"QueryResponse": ["Invoice"]}'),
    ],
)
def test_a_look_up_it_cannot_read_is_never_taken_for_not_found(answering, content_type, body):
    """ "Not found" would let the engine send the invoice again; an unreadable page must stop it instead."""
    answering.answer = (content_type, body)
    with pytest.raises(LedgerError) as raised:
        _ledger().find_by_number(ObjectKind.INVOICE, "INV-1")
    assert isinstance(raised.value, Retry | UnknownOutcome)
    assert raised.value.code == "unreadable_answer"


def test_an_empty_page_is_not_found(answering):
    answering.answer = ("application/json", json.dumps({"QueryResponse": {}}).encode())
    assert _ledger().find_by_number(ObjectKind.INVOICE, "INV-1") is None


@pytest.mark.parametrize("entity", [None, "x", {"Id": "5"}, {"SyncToken": "0"}])
def test_a_read_before_a_write_without_the_objects_identity_is_a_retry(answering, entity):
    answering.answer = ("application/json", json.dumps({"Invoice": entity}).encode())
    item = STEPS["void"][1]
    item = SyncItem(item.record_id, item.kind, item.document, remote_ids={"invoice": "5", "contact": "1"})
    with pytest.raises(Retry) as raised:
        _ledger().build([item], d.mapping())
    assert raised.value.code == "unreadable_answer"
