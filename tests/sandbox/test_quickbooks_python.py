"""The official clients, python-quickbooks 0.9.x with intuit-oauth, against the QuickBooks sandbox, changed
only in their base URLs (real-clients.md): connect through the company picker, refresh, create customer,
item, invoice, payment and credit memo, query, batch, void, read back."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.objects.base import Ref
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

from ledgerlink.devtools.sandboxes import RunningSandbox

from .qbo import REDIRECT


def _pick_company(authorize_url: str, realm: str) -> dict[str, str]:
    """The browser leg: the company picker lists the company; choosing it redirects with code and realmId."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200
    assert re.search(rf'type="radio" name="tenant_id" value="{realm}"', page.text)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    back = requests.post(
        authorize_url.split("?")[0],
        data={**form, "tenant_id": realm, "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302
    location = urlparse(back.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _line(item: Item, amount: str, qty: str) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = Decimal(amount)
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = Decimal(qty)
    line.SalesItemLineDetail.UnitPrice = Decimal(amount) / Decimal(qty)
    line.SalesItemLineDetail.TaxCodeRef = Ref()
    line.SalesItemLineDetail.TaxCodeRef.value = "TAX"
    return line


def _invoice(customer: Customer, item: Item, amount: str, qty: str) -> Invoice:
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(_line(item, amount, qty))
    return invoice


@pytest.fixture
def client(quickbooks_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch):
    """Connected exactly as an integrator would, pointed at the shared session sandbox by URL only."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain-http base URL (real-clients.md trap 8)
    control = quickbooks_sandbox.control
    app = control.create_app([REDIRECT], name="SDK app")
    realm = control.create_company("US", "SDK Solar Inc")
    discovery = quickbooks_sandbox.base_url + "/.well-known/openid_configuration"
    auth = AuthClient(app.client_id, app.client_secret, REDIRECT, discovery)
    callback = _pick_company(auth.get_authorization_url([Scopes.ACCOUNTING], state_token="st-1"), realm)
    assert (callback["state"], callback["realmId"]) == ("st-1", realm)
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    assert (auth.expires_in, auth.x_refresh_token_expires_in) == (3600, 8_640_000)
    first_refresh = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token == first_refresh  # the value changes about daily, not on every refresh
    qb = QuickBooks(
        auth_client=auth,
        refresh_token=auth.refresh_token,
        company_id=realm,
        minorversion=75,
        use_decimal=True,
    )
    qb.api_url_v3 = qb.sandbox_api_url_v3 = quickbooks_sandbox.base_url + "/v3"
    return qb


def test_python_quickbooks_round_trip(client: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = "Sunny Homes LLC"
    customer = customer.save(qb=client)  # save() answers the stored object; it updates only Id in place
    item = Item()
    item.Name, item.Type = "PV install", "Service"
    item.IncomeAccountRef = Ref()
    item.IncomeAccountRef.value = "7"
    item = item.save(qb=client)

    invoice = _invoice(customer, item, "9000.00", "24").save(qb=client, request_id="cf-inv-1-v1")
    assert invoice.DocNumber == "1001"  # US company: custom transaction numbers off, auto-numbered
    assert invoice.TotalAmt == Decimal("9652.50")  # 7.25% automated sales tax on the TAX line
    assert [line.DetailType for line in invoice.Line] == ["SalesItemLineDetail", "SubTotalLineDetail"]

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = invoice.TotalAmt
    line = PaymentLine()
    line.Amount = invoice.TotalAmt
    line.LinkedTxn.append(invoice.to_linked_txn())
    payment.Line.append(line)
    payment = payment.save(qb=client, request_id="cf-pay-1")
    assert payment.DepositToAccountRef.value == "3"  # Undeposited Funds
    assert Invoice.get(invoice.Id, qb=client).Balance == 0

    memo = CreditMemo()
    memo.CustomerRef = customer.to_ref()
    memo.Line.append(_line(item, "250.00", "1"))
    memo = memo.save(qb=client)
    assert memo.RemainingCredit == Decimal("268.13")

    found = Customer.filter(DisplayName="Sunny Homes LLC", qb=client)
    assert [c.Id for c in found] == [customer.Id]
    assert {i.Name for i in Item.all(qb=client)} == {"Services", "PV install"}
    assert [i.Id for i in Invoice.where("DocNumber = '1001'", order_by="TxnDate DESC", qb=client)] == [
        invoice.Id
    ]
    assert Invoice.count(qb=client) == 1

    first, second, clash = Customer(), Customer(), Customer()
    first.DisplayName, second.DisplayName, clash.DisplayName = "Batch One", "Batch Two", "Sunny Homes LLC"
    result = batch_create([first, second, clash], qb=client)
    assert sorted(c.DisplayName for c in result.successes) == ["Batch One", "Batch Two"]
    assert [int(f.Error[0].code) for f in result.faults] == [6240]

    payment.void(qb=client)
    assert Payment.get(payment.Id, qb=client).TotalAmt == 0
    reopened = Invoice.get(invoice.Id, qb=client)
    assert reopened.Balance == reopened.TotalAmt
    spare = _invoice(customer, item, "100.00", "1").save(qb=client)
    spare.void(qb=client)
    voided = Invoice.get(spare.Id, qb=client)
    assert (voided.TotalAmt, voided.PrivateNote) == (0, "Voided")
