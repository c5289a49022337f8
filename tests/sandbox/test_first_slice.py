"""The end-to-end path the other areas rely on: connect, read settings, create contact/invoice/payment."""

from decimal import Decimal

from .conftest import connect


def test_connect_create_and_read_back(xero_sandbox, contract) -> None:
    """Through the shared `xero_sandbox` fixture other areas use."""
    xero = connect(xero_sandbox)
    assert set(xero.tokens) == {
        "id_token",
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "scope",
    }
    org = xero.get("/Organisation")
    assert org.status_code == 200
    assert org.json()["Organisations"][0]["BaseCurrency"] == "AUD"
    assert org.headers["X-MinLimit-Remaining"] == "59"
    contact = xero.contact("Sunny Homes")
    invoice = xero.invoice(
        contact["ContactID"],
        [{"Description": "Panels", "Quantity": 2, "UnitAmount": 100.05, "AccountCode": "200"}],
        Status="AUTHORISED",
        InvoiceNumber="CF-1",
    )
    assert invoice["Total"] == 220.11
    paid = xero.put(
        "/Payments",
        {
            "Payments": [
                {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 220.11}
            ]
        },
    )
    assert paid.status_code == 200, paid.text
    found = xero.get("/Invoices", params={"InvoiceNumbers": "CF-1"}).json(parse_float=Decimal)["Invoices"]
    assert [(i["Status"], i["AmountDue"]) for i in found] == [("PAID", Decimal("0.0"))]
    ledger = xero_sandbox.control.ledger(xero.tenant_id)
    assert [p["Amount"] for p in ledger["Payments"]] == [220.11]
    assert xero_sandbox.control.count(xero.tenant_id, method="PUT") == 3
