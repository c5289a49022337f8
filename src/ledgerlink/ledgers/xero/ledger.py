"""`XeroLedger`: the contract (ledgers/contract.py) answered for Xero by joining client, payloads, results
and errors. Batches are create-only PUTs with summarizeErrors=false, so a replay after the idempotency key
expired can never overwrite, and one bad element never hides the ids of the good ones (xero.md 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings

from ledgerlink.ledgers.building import chunks, payment_account, remote_id, web_link
from ledgerlink.ledgers.contract import (
    Cancellation,
    Chart,
    ConnectionLike,
    Customer,
    CustomerResolution,
    IdempotencyKey,
    Invoice,
    ItemOutcome,
    LedgerAccount,
    LedgerKey,
    LedgerRequest,
    LedgerResponse,
    LedgerTaxRate,
    ObjectKind,
    Payment,
    PaymentReversal,
    RateLimits,
    RemoteRef,
    ResolvedMapping,
    SyncItem,
    TrackingCategory,
)
from ledgerlink.ledgers.xero import contacts, errors, payloads, results
from ledgerlink.ledgers.xero.client import XeroClient

BATCH = {"summarizeErrors": "false"}
# Invoices go with unitdp=4, so a price per watt (0.0275) keeps its four places (xero.md, Invoices).
INVOICE_BATCH = {**BATCH, "unitdp": "4"}
# Steps answered with a collection of elements: (collection, the outcome's kind, whether it is the last step).
ANSWERED_AS_BATCH: Mapping[str, tuple[results.Collection, ObjectKind, bool]] = {
    "repost_payment": (results.PAYMENTS, ObjectKind.PAYMENT_REVERSAL, True),
    "credit_note": (results.CREDIT_NOTES, ObjectKind.CANCELLATION, False),
}
# Kinds that pack into one PUT, with the collection they go to.
BATCHED: Mapping[ObjectKind, tuple[str, results.Collection]] = {
    ObjectKind.CUSTOMER: ("/Contacts", results.CONTACTS),
    ObjectKind.INVOICE: ("/Invoices", results.INVOICES),
    ObjectKind.PAYMENT: ("/Payments", results.PAYMENTS),
}

# Xero's own pages, after XERO_WEB_URL (go.xero.com; the sandbox stands in for it in the demo and tests).
WEB_PAGES: Mapping[ObjectKind, str] = {
    ObjectKind.INVOICE: "/AccountsReceivable/View.aspx?InvoiceID={id}",
    ObjectKind.CUSTOMER: "/Contacts/View/{id}",
}


class XeroLedger:
    """One Xero tenant. Build it with `XeroLedger.for_connection(connection)` after
    `ledgers.tokens.ensure_fresh_token`; it holds no state beyond the client."""

    key: ClassVar[LedgerKey] = "xero"
    max_batch: ClassVar[int] = 50  # "about 50 elements per request" (xero.md 2, "Size")
    limits: ClassVar[RateLimits] = RateLimits(
        per_minute=60, in_flight=5, per_day=5000
    )  # xero.md 5, per tenant
    idempotency_window: ClassVar[dt.timedelta] = dt.timedelta(minutes=6)

    def __init__(self, client: XeroClient) -> None:
        self.client = client

    @classmethod
    def for_connection(cls, connection: ConnectionLike) -> XeroLedger:
        return cls(
            XeroClient(
                access_token=connection.access_token,
                tenant_id=connection.tenant_id,
                organisation_id=str(connection.organisation_id),
            )
        )

    @classmethod
    def web_url(cls, tenant_id: str, kind: ObjectKind, object_id: str) -> str:
        """Xero's own pages for an invoice and a contact, opened in the organisation the user has open in
        Xero (its ids are unique across organisations, so the link needs no tenant)."""
        return web_link(settings.XERO_WEB_URL, WEB_PAGES, kind, tenant_id, object_id)

    # --- Chart (instant setup: four calls) ------------------------------------------------------------

    def load_chart(self) -> Chart:
        """GET /Accounts, /TaxRates, /TrackingCategories, /Currencies: unpaged, one call each (xero.md 2);
        the currencies let pre-flight hold back a document Xero would refuse for its currency."""
        accounts = self.client.get("/Accounts", noun="account list").get("Accounts") or []
        tax_rates = self.client.get("/TaxRates", noun="tax rate list").get("TaxRates") or []
        tracking = (
            self.client.get("/TrackingCategories", noun="tracking list").get("TrackingCategories") or []
        )
        currencies = self.client.get("/Currencies", noun="currency list").get("Currencies") or []
        return Chart(
            accounts=tuple(_account(a) for a in accounts),
            tax_rates=tuple(_tax_rate(t) for t in tax_rates),
            tracking=tuple(_tracking(t) for t in tracking if t.get("Status", "ACTIVE") == "ACTIVE"),
            currencies=tuple(str(c["Code"]).upper() for c in currencies if c.get("Code")),
        )

    # --- Customers ----------------------------------------------------------------------------------------

    def resolve_customers(self, items: Sequence[SyncItem]) -> CustomerResolution:
        """Customers matched to the tenant's contacts (by email, then by our ContactNumber) and the rest to
        create, in the fewest GET /Contacts calls: see ledgers/xero/contacts.py."""
        return contacts.resolve(self.client, items)

    # --- Build --------------------------------------------------------------------------------------------

    def build(self, items: Sequence[SyncItem], mapping: ResolvedMapping) -> list[LedgerRequest]:
        """The next request(s) for these items: batches of up to 50 for creates; one request per item for
        the steps Xero has no batch for (payment delete, void, allocation)."""
        requests: list[LedgerRequest] = []
        for kind in BATCHED:
            of_kind = [item for item in items if item.kind == kind]
            requests += [self.create_request(chunk, mapping) for chunk in chunks(of_kind, self.max_batch)]
        for item in items:
            if item.kind == ObjectKind.PAYMENT_REVERSAL:
                requests.append(self._reversal_step(item, mapping))
            elif item.kind == ObjectKind.CANCELLATION:
                requests.append(self._cancellation_step(item, mapping))
        return requests

    @classmethod
    def create_request(cls, items: tuple[SyncItem, ...], mapping: ResolvedMapping) -> LedgerRequest:
        """One create-only PUT for items of one batched kind: what `build` sends and the preview shows."""
        path, collection = BATCHED[items[0].kind]
        bodies = [cls._body(item, mapping) for item in items]
        params = INVOICE_BATCH if items[0].kind == ObjectKind.INVOICE else BATCH
        return LedgerRequest("PUT", path, items, "create", params, payloads.wrap(collection.key, bodies))

    @staticmethod
    def _body(item: SyncItem, mapping: ResolvedMapping) -> object:
        document = item.document
        if isinstance(document, Customer):
            return payloads.contact_body(document)
        if isinstance(document, Invoice):
            return payloads.invoice_body(document, mapping, remote_id(item, "contact"))
        if isinstance(document, Payment):
            return payloads.payment_body(
                document, remote_id(item, "invoice"), payment_account(document, mapping)
            )
        raise TypeError(f"{item.kind} does not batch")

    def _reversal_step(self, item: SyncItem, mapping: ResolvedMapping) -> LedgerRequest:
        """Xero payments cannot be edited, only deleted (xero.md 3, Payments): delete, then re-post what
        remains when the reversal was partial."""
        reversal = item.document
        assert isinstance(reversal, PaymentReversal)
        payment_id = remote_id(item, "payment")
        if "deleted_payment" not in item.remote_ids:
            return LedgerRequest(
                "POST",
                f"/Payments/{payment_id}",
                (item,),
                "delete_payment",
                body=payloads.status_change("DELETED"),
            )
        account = payment_account(reversal.payment, mapping)
        body = payloads.payment_body(
            reversal.payment, remote_id(item, "invoice"), account, reversal.remaining
        )
        return LedgerRequest(
            "PUT", "/Payments", (item,), "repost_payment", BATCH, payloads.wrap("Payments", [body])
        )

    def _cancellation_step(self, item: SyncItem, mapping: ResolvedMapping) -> LedgerRequest:
        """Nothing paid: void the invoice. Something paid: a credit note for the unpaid balance, then its
        allocation to the invoice (a paid invoice cannot be voided, xero.md 3, Invoices)."""
        cancellation = item.document
        assert isinstance(cancellation, Cancellation)
        invoice_id = remote_id(item, "invoice")
        if cancellation.amount_paid == 0:
            void = payloads.wrap("Invoices", [{"InvoiceID": invoice_id, **payloads.status_change("VOIDED")}])
            return LedgerRequest("POST", f"/Invoices/{invoice_id}", (item,), "void", body=void)
        if "credit_note" not in item.remote_ids:
            note = payloads.credit_note_body(cancellation, mapping, remote_id(item, "contact"))
            return LedgerRequest(
                "PUT", "/CreditNotes", (item,), "credit_note", BATCH, payloads.wrap("CreditNotes", [note])
            )
        credit_note_id = item.remote_ids["credit_note"]
        allocation = payloads.allocation_body(
            invoice_id, cancellation.credit_amount, cancellation.date.isoformat()
        )
        return LedgerRequest(
            "PUT",
            f"/CreditNotes/{credit_note_id}/Allocations",
            (item,),
            "allocate",
            body=payloads.wrap("Allocations", [allocation]),
        )

    # --- Send and read ------------------------------------------------------------------------------------

    def send(self, request: LedgerRequest, key: IdempotencyKey) -> LedgerResponse:
        """Send with the engine's idempotency key. A 200, or a 400 naming the elements, comes back for
        `read`; any other answer fails the whole request and is raised as its error kind."""
        response = self.client.request(
            request.method, request.path, params=request.params, body=request.body, idempotency_key=key
        )
        if response.status not in (200, 400):
            raise errors.request_error(
                response.status, response.body, response.headers, "request", response.correlation_id
            )
        return response

    def read(self, response: LedgerResponse, request: LedgerRequest) -> list[ItemOutcome]:
        """One outcome per item of the request."""
        if response.status != 200:
            error = errors.request_error(
                response.status, response.body, response.headers, request.step, response.correlation_id
            )
            return [ItemOutcome(record_id=item.record_id, error=error) for item in request.items]
        kind = request.items[0].kind
        if request.step == "create":
            collection, done = BATCHED[kind][1], True
        elif request.step in ANSWERED_AS_BATCH:
            collection, kind, done = ANSWERED_AS_BATCH[request.step]
        else:
            return [self._single_step_outcome(request, response)]
        numbers = [self._number(item) for item in request.items] if collection.number_field else []
        cid = response.correlation_id
        outcomes = results.read_batch(response.body, request.items, collection, kind, numbers, cid, done)
        if kind == ObjectKind.CUSTOMER and request.step == "create":
            self._keep_contacts_current(request.items, outcomes)
        return outcomes

    def _keep_contacts_current(self, items: Sequence[SyncItem], outcomes: list[ItemOutcome]) -> None:
        """The copy of the tenant's contacts learns what was just created; a refused create means the tenant
        changed under it (a name taken since the read), so it is dropped."""
        contacts.BOOKS.created(self.client.tenant_id, items, outcomes, contacts.contact_row)

    @staticmethod
    def _number(item: SyncItem) -> str:
        """The number Xero echoes back for the item (see results.Collection.number_field)."""
        document = item.document
        if isinstance(document, Customer):
            return payloads.contact_number(document)
        return document.number if isinstance(document, Invoice | Cancellation) else ""

    @staticmethod
    def _single_step_outcome(request: LedgerRequest, response: LedgerResponse) -> ItemOutcome:
        item = request.items[0]
        document = item.document
        if request.step == "delete_payment":
            assert isinstance(document, PaymentReversal)
            payment_id = item.remote_ids["payment"]
            if document.remaining > 0:
                return ItemOutcome(item.record_id, extra_ids={"deleted_payment": payment_id}, done=False)
            return ItemOutcome(item.record_id, remote=RemoteRef(ObjectKind.PAYMENT_REVERSAL, payment_id))
        assert isinstance(document, Cancellation)
        if request.step == "void":
            ref = RemoteRef(
                ObjectKind.CANCELLATION, item.remote_ids["invoice"], document.invoice.number, Decimal(0)
            )
            return ItemOutcome(item.record_id, remote=ref)
        (allocation,) = results.read_batch(
            response.body, (item,), results.ALLOCATIONS, ObjectKind.CANCELLATION
        )
        if allocation.error:
            return allocation
        ref = RemoteRef(ObjectKind.CANCELLATION, item.remote_ids["credit_note"], document.number)
        return ItemOutcome(item.record_id, remote=ref, extra_ids={"allocation": allocation.remote.id})  # type: ignore[union-attr]

    # --- Look-ups after a conflict or an unknown outcome ---------------------------------------------------

    def find_by_number(self, kind: ObjectKind, number: str) -> RemoteRef | None:
        """An object already in Xero, by its number: invoices by InvoiceNumbers= (xero.md 2, optimised
        filter), contacts by ContactNumber (CashFlow's customer id), credit notes by CreditNoteNumber,
        payments by their Reference (payloads.payment_reference)."""
        if kind == ObjectKind.INVOICE:
            found = self.client.get("/Invoices", {"InvoiceNumbers": number, "where": 'Type=="ACCREC"'})
            return self._first(found.get("Invoices"), results.INVOICES, kind, exclude_status="DELETED")
        if kind == ObjectKind.CUSTOMER:
            found = self.client.get("/Contacts", {"where": f"ContactNumber=={contacts.quoted(number)}"})
            return self._first(found.get("Contacts"), results.CONTACTS, kind)
        if kind == ObjectKind.CANCELLATION:
            found = self.client.get("/CreditNotes", {"where": f"CreditNoteNumber=={contacts.quoted(number)}"})
            return self._first(found.get("CreditNotes"), results.CREDIT_NOTES, kind, exclude_status="DELETED")
        if kind in (ObjectKind.PAYMENT, ObjectKind.PAYMENT_REVERSAL):
            found = self.client.get(
                "/Payments", {"where": f'Reference=={contacts.quoted(number)} AND Status=="AUTHORISED"'}
            )
            return self._first(found.get("Payments"), results.PAYMENTS, kind)
        raise ValueError(f"Xero has no number for {kind}")

    @staticmethod
    def _first(
        elements: Any, collection: results.Collection, kind: ObjectKind, exclude_status: str = ""
    ) -> RemoteRef | None:
        for element in elements or []:
            if exclude_status and element.get("Status") == exclude_status:
                continue
            return results.remote_ref(element, collection, kind)
        return None

    def find_existing(self, item: SyncItem) -> RemoteRef | None:
        """Whether this item's current step already happened in Xero (after Conflict, or an unknown outcome
        older than Xero's 6-minute idempotency window, xero.md 4)."""
        document = item.document
        if isinstance(document, Customer):
            return self.find_by_number(ObjectKind.CUSTOMER, payloads.contact_number(document))
        if isinstance(document, Invoice):
            return self.find_by_number(ObjectKind.INVOICE, document.number)
        if isinstance(document, Payment):
            return self.find_by_number(ObjectKind.PAYMENT, payloads.payment_reference(document))
        if isinstance(document, PaymentReversal):
            return self._find_reversal(item, document)
        assert isinstance(document, Cancellation)
        if document.amount_paid == 0:
            found = self.client.get("/Invoices", {"InvoiceNumbers": document.invoice.number})
            voided = [e for e in found.get("Invoices") or [] if e.get("Status") == "VOIDED"]
            return self._first(voided, results.INVOICES, ObjectKind.CANCELLATION)
        return self.find_by_number(ObjectKind.CANCELLATION, document.number)

    def _find_reversal(self, item: SyncItem, reversal: PaymentReversal) -> RemoteRef | None:
        if "deleted_payment" not in item.remote_ids:
            found = self.client.get(f"/Payments/{remote_id(item, 'payment')}")
            payment = (found.get("Payments") or [{}])[0]
            return (
                RemoteRef(ObjectKind.PAYMENT_REVERSAL, payment["PaymentID"])
                if payment.get("Status") == "DELETED"
                else None
            )
        return self.find_by_number(ObjectKind.PAYMENT_REVERSAL, payloads.payment_reference(reversal.payment))


# --- Chart parsing ----------------------------------------------------------------------------------------


def _account(element: Mapping[str, Any]) -> LedgerAccount:
    return LedgerAccount(
        id=str(element["AccountID"]),
        code=str(element.get("Code") or ""),
        name=str(element.get("Name") or ""),
        type=str(element.get("Type") or ""),
        status=str(element.get("Status") or "ACTIVE"),
        is_revenue=element.get("Class") == "REVENUE",
        # Payment-capable = a BANK account or one with payments enabled (xero.md 3, Accounts).
        accepts_payments=element.get("Type") == "BANK" or bool(element.get("EnablePaymentsToAccount")),
        default_tax_code=str(element.get("TaxType") or ""),
    )


def _tax_rate(element: Mapping[str, Any]) -> LedgerTaxRate:
    rate = element.get("EffectiveRate", element.get("DisplayTaxRate", 0)) or 0
    return LedgerTaxRate(
        code=str(element["TaxType"]),
        name=str(element.get("Name") or ""),
        rate=Decimal(str(rate)),
        status=str(element.get("Status") or "ACTIVE"),
        applies_to_revenue=bool(element.get("CanApplyToRevenue", True)),
    )


def _tracking(element: Mapping[str, Any]) -> TrackingCategory:
    options = tuple(
        str(o.get("Name")) for o in element.get("Options") or [] if o.get("Status", "ACTIVE") == "ACTIVE"
    )
    return TrackingCategory(
        id=str(element["TrackingCategoryID"]), name=str(element.get("Name") or ""), options=options
    )
