"""`QuickBooksLedger`: the contract (ledgers/contract.py) answered for QuickBooks Online by joining client,
payloads, results, contacts and errors.

Creates (customers, invoices, payments) go through /batch in chunks of 30, one `bId` per item, under the
engine's key as `requestid`, so a replay is answered from QuickBooks' memory and one bad item never hides
the others (quickbooks.md 3, 4). The steps QuickBooks has no create for (edit or delete a payment, void an
invoice, a credit memo and its application) are single writes that read the object's SyncToken first; a
stale token (5010) is read again and the write retried at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings

from ledgerlink.ledgers import answers
from ledgerlink.ledgers.books import Copies
from ledgerlink.ledgers.building import MappingMissing, chunks, payment_account, remote_id, web_link
from ledgerlink.ledgers.contract import (
    AccountRef,
    Cancellation,
    Chart,
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
)
from ledgerlink.ledgers.errors import NeedsAttention
from ledgerlink.ledgers.quickbooks import contacts, errors, invoice_customers, items, payloads, results
from ledgerlink.ledgers.quickbooks.client import QuickBooksClient, quoted

# Kinds created through /batch: the entity each carries and its noun for messages.
BATCHED: Mapping[ObjectKind, tuple[str, str]] = {
    ObjectKind.CUSTOMER: ("Customer", "customer"),
    ObjectKind.INVOICE: ("Invoice", "invoice"),
    ObjectKind.PAYMENT: ("Payment", "payment"),
}
# Single-write steps: the entity QuickBooks answers with.
STEP_ENTITY: Mapping[str, str] = {
    "delete_payment": "Payment",
    "reduce_payment": "Payment",
    "void": "Invoice",
    "credit_note": "CreditMemo",
    "allocate": "Payment",
}
# CashFlow's payment methods by the names QuickBooks companies give theirs (the seeded and default lists);
# bank transfers and finance have no standard name, so they go without a method.
PAYMENT_METHOD_NAMES: Mapping[str, tuple[str, ...]] = {
    "card": ("credit card", "card"),
    "cash": ("cash",),
    "cheque": ("check", "cheque"),
}
# QuickBooks' own pages, after QBO_WEB_URL (app.qbo.intuit.com; the sandbox stands in for it in the demo and
# tests). Ids count per company, so the link names the company too (companyId).
WEB_PAGES: Mapping[ObjectKind, str] = {
    ObjectKind.INVOICE: "/app/invoice?txnId={id}&companyId={tenant}",
    ObjectKind.CUSTOMER: "/app/customerdetail?nameId={id}&companyId={tenant}",
    ObjectKind.PAYMENT: "/app/recvpayment?txnId={id}&companyId={tenant}",
}
# A stale SyncToken is re-read and retried this many times within one send before it is left to the engine.
STALE_RETRIES = 2
US_PSEUDO_CODES = (payloads.US_TAXABLE, payloads.US_NON_TAXABLE)
# This process's copies of each company's settings and payment methods (ledgers/books.py): a backfill's claims
# each build a ledger, and without these each would read the same preferences and tax tables again.
COMPANIES: Copies[payloads.Company] = Copies()
PAYMENT_METHODS: Copies[Mapping[str, str]] = Copies()


class QuickBooksLedger:
    """One QuickBooks company (realm). Build it with `QuickBooksLedger.for_connection(connection)` after
    `ledgers.tokens.ensure_fresh_token`; it holds the client and what it read of the company."""

    key: ClassVar[LedgerKey] = "quickbooks"
    # quickbooks.md 3 and 5: 30 items per batch; 500 calls a minute per company (a batch item may count as
    # one: sandbox `batch_metering=item`, the stricter reading); 10 in flight per company and app; 40 batch
    # requests a minute per company and app (120 per company); no daily budget, so the minute's x 1,440.
    max_batch: ClassVar[int] = 30
    # Sources disagree on whether a batch spends one call or one per item of the 500 a minute; the stricter
    # reading (per item) is the one whose time floor the real service cannot beat.
    limits: ClassVar[RateLimits] = RateLimits(
        per_minute=500, in_flight=10, per_day=500 * 60 * 24, items_metered=True
    )
    batch_per_minute: ClassVar[int] = 40
    # How long QuickBooks remembers a requestid is undocumented (quickbooks.md 4); the sandbox keeps a day.
    # An hour is the cautious reading: after it an unknown outcome is looked up, never replayed blind.
    idempotency_window: ClassVar[dt.timedelta] = dt.timedelta(hours=1)

    def __init__(self, client: QuickBooksClient) -> None:
        self.client = client
        self.items = items.ItemCatalog(client)

    @classmethod
    def web_url(cls, tenant_id: str, kind: ObjectKind, object_id: str) -> str:
        """QuickBooks' own pages for an invoice, a customer and a payment in the company."""
        return web_link(settings.QBO_WEB_URL, WEB_PAGES, kind, tenant_id, object_id)

    @classmethod
    def for_connection(cls, connection: Any) -> QuickBooksLedger:
        return cls(
            QuickBooksClient(
                access_token=connection.access_token,
                realm_id=connection.tenant_id,
                organisation_id=str(connection.organisation_id),
            )
        )

    # --- Chart and company settings (instant setup) ---------------------------------------------------------

    def load_chart(self) -> Chart:
        """Accounts (inactive ones too, so a mapping to one is reported), tax codes with their sales rates,
        and the preferences that decide bodies: custom transaction numbers, the sales-tax model and
        multicurrency (kept as this process's copy of the `company`, which the backfill that follows
        builds from)."""
        accounts = self.client.query("Account", contacts.EVERY_STATUS, "account list")
        codes, rates = self._tax_tables()
        company = self._read_company(codes, rates)
        COMPANIES.keep(self.client.realm_id, company)
        tax_codes = [_tax_code(c, rates) for c in codes]
        if company.us_sales_tax:
            tax_codes = _us_line_codes(tax_codes, company)
        # With multicurrency off the company takes its home currency only; with it on, the currencies it
        # has added are not listed here, so pre-flight leaves the currency to QuickBooks.
        only = (company.home_currency,) if company.home_currency and not company.multicurrency else ()
        return Chart(
            accounts=tuple(_account(a) for a in accounts), tax_rates=tuple(tax_codes), currencies=only
        )

    def _tax_tables(self) -> tuple[list[Any], dict[str, Decimal]]:
        codes = self.client.query("TaxCode", contacts.EVERY_STATUS, "tax code list")
        rates = {
            str(r["Id"]): Decimal(str(r.get("RateValue") or 0))
            for r in self.client.query("TaxRate", contacts.EVERY_STATUS, "tax rate list")
        }
        return codes, rates

    @property
    def company(self) -> payloads.Company:
        """The company's settings, read once per process and company while fresh (ledgers/books.py)."""
        return COMPANIES.read_once(self.client.realm_id, lambda: self._read_company(*self._tax_tables()))

    def payment_method(self, method: str) -> str:
        """The company's PaymentMethod id for a CashFlow method, "" for none. Read only when a payment has
        a method QuickBooks names (bank transfers have none), then kept like the company's settings."""
        if method not in PAYMENT_METHOD_NAMES:
            return ""
        ids = PAYMENT_METHODS.read_once(self.client.realm_id, self._read_payment_methods)
        return ids.get(method, "")

    def _read_payment_methods(self) -> Mapping[str, str]:
        methods = {
            str(m.get("Name") or "").strip().casefold(): str(m["Id"])
            for m in self.client.query("PaymentMethod", noun="payment method list")
        }
        return {
            ours: next((methods[n] for n in names if n in methods), "")
            for ours, names in PAYMENT_METHOD_NAMES.items()
        }

    def _read_company(self, codes: list[Any], rates: Mapping[str, Decimal]) -> payloads.Company:
        prefs = (self.client.get("/preferences", noun="company preferences") or {}).get("Preferences") or {}
        tax_prefs = prefs.get("TaxPrefs") or {}
        currency = prefs.get("CurrencyPrefs") or {}
        code_rates = {str(c["Id"]): _sales_rates(c, rates) for c in codes if c.get("Active", True)}
        us = bool(tax_prefs.get("PartnerTaxEnabled"))
        zero = payloads.US_NON_TAXABLE if us else _zero_code(codes, code_rates)
        # The jurisdiction automated sales tax applies: the one taxable group with rates (the sandbox's "2").
        us_code = next(
            (code for code, found in code_rates.items() if found and code not in US_PSEUDO_CODES), ""
        )
        return payloads.Company(
            us_sales_tax=us,
            custom_numbers=bool((prefs.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers")),
            home_currency=str((currency.get("HomeCurrency") or {}).get("value") or ""),
            multicurrency=bool(currency.get("MultiCurrencyEnabled")),
            code_rates=code_rates,
            us_code=us_code if us else "",
            zero_code=zero,
        )

    # --- Customers ----------------------------------------------------------------------------------------

    def resolve_customers(self, items: Sequence[SyncItem]) -> CustomerResolution:
        """Matched by email in one query; names made unique across customers, vendors and employees."""
        return contacts.resolve(self.client, items)

    def _line_items(self, documents: Sequence[Invoice], mapping: ResolvedMapping) -> items.LineItems:
        accounts: dict[str, AccountRef] = {}
        for invoice in documents:
            for line in invoice.lines:
                account = mapping.account_for(line)
                if account is None:
                    raise MappingMissing(f"No account mapping for {line.line_type} lines.")
                accounts.setdefault(line.line_type, account)
        # The tax rounding line posts with the invoice's first revenue account: it is revenue's rounding.
        rounding = {payloads.ROUNDING: next(iter(accounts.values()))} if accounts else {}
        return items.LineItems(self.items, self.items.for_lines(accounts), rounding)

    # --- Build --------------------------------------------------------------------------------------------

    def build(self, items: Sequence[SyncItem], mapping: ResolvedMapping) -> list[LedgerRequest]:
        """Batches of up to 30 for creates; one request per item for the other steps."""
        requests: list[LedgerRequest] = []
        for kind in BATCHED:
            of_kind = [item for item in items if item.kind == kind]
            if not of_kind:
                continue
            bodies = self._bodies(of_kind, mapping)
            for chunk in chunks(list(zip(of_kind, bodies, strict=True)), self.max_batch):
                requests.append(self._batch(tuple(i for i, _ in chunk), [b for _, b in chunk]))
        for item in items:
            if item.kind == ObjectKind.PAYMENT_REVERSAL:
                requests.append(self._reversal_step(item))
            elif item.kind == ObjectKind.CANCELLATION:
                requests.append(self._cancellation_step(item, mapping))
        return requests

    @classmethod
    def create_request(cls, items: tuple[SyncItem, ...], mapping: ResolvedMapping) -> LedgerRequest:
        """The batch `build` would send for these invoices, made without a call, for the preview: items are
        named where their ids will go (they are found or made on the first real send)."""
        documents = [item.document for item in items if isinstance(item.document, Invoice)]
        types = {line.line_type for invoice in documents for line in invoice.lines} | {payloads.ROUNDING}
        placeholders = {t: f"(the {payloads.item_label(t)} item)" for t in types}
        company = payloads.preview_company(mapping)
        bodies = [
            payloads.invoice_body(d, mapping, remote_id(i, "contact"), placeholders, company)
            for i, d in zip(items, documents, strict=True)
        ]
        return cls._batch(items, bodies)

    def _bodies(self, items: Sequence[SyncItem], mapping: ResolvedMapping) -> list[payloads.Body]:
        documents = [item.document for item in items]
        if isinstance(documents[0], Customer):
            return [payloads.customer_body(d) for d in documents if isinstance(d, Customer)]
        if isinstance(documents[0], Invoice):
            invoices = [d for d in documents if isinstance(d, Invoice)]
            line_items = self._line_items(invoices, mapping)
            return [
                payloads.invoice_body(d, mapping, remote_id(i, "contact"), line_items, self.company)
                for i, d in zip(items, invoices, strict=True)
            ]
        # An invoice this process created names the customer it was made for; any other is looked up.
        invoice_ids = [remote_id(item, "invoice") for item in items]
        customers = invoice_customers.MEMORY.of(self.client.realm_id, invoice_ids)
        unknown = [i for i in invoice_ids if i not in customers]
        if unknown:
            customers.update(self._invoice_customers(unknown))
        bodies: list[payloads.Body] = []
        for item, invoice_id in zip(items, invoice_ids, strict=True):
            payment = item.document
            assert isinstance(payment, Payment)
            account = payment_account(payment, mapping)
            method = self.payment_method(payment.method)
            bodies.append(payloads.payment_body(payment, customers[invoice_id], invoice_id, account, method))
        return bodies

    def _invoice_customers(self, invoice_ids: Sequence[str]) -> dict[str, str]:
        """The customer of each invoice (a payment names its customer; CashFlow's names only the invoice):
        one query for the batch."""
        found: dict[str, str] = {}
        for clause in contacts.in_clauses("Id", invoice_ids):
            for row in self.client.query("Invoice", clause, "invoice look-up"):
                found[str(row["Id"])] = str((row.get("CustomerRef") or {}).get("value") or "")
        missing = [i for i in invoice_ids if i not in found]
        if missing:
            raise NeedsAttention(
                f"QuickBooks has no invoice {', '.join(missing)} any more; it may have been deleted there.",
                code="invoice_gone",
            )
        return found

    @staticmethod
    def _batch(items: tuple[SyncItem, ...], bodies: Sequence[payloads.Body]) -> LedgerRequest:
        entity = BATCHED[items[0].kind][0]
        batch = [
            {"bId": results.bid(index), "operation": "create", entity: body}
            for index, body in enumerate(bodies)
        ]
        # Each item may be metered like a call of its own against the 500 a minute (quickbooks.md 3; the
        # sandbox's default `batch_metering=item`): the engine's budget counts them so.
        cost = len(items) if QuickBooksLedger.limits.items_metered else 1
        return LedgerRequest("POST", "/batch", items, "create", body={"BatchItemRequest": batch}, cost=cost)

    def _read_entity(self, entity: str, entity_id: str) -> Mapping[str, Any]:
        body = self.client.get(f"/{entity.lower()}/{entity_id}", noun=entity.lower())
        found = body.get(entity)
        if not isinstance(found, Mapping) or "SyncToken" not in found or "Id" not in found:
            # Every write after a read needs both (the object's identity); without them there is nothing
            # safe to send.
            raise answers.unreadable_read(errors.NAME, entity.lower())
        return dict(found)

    def _reversal_step(self, item: SyncItem) -> LedgerRequest:
        """A refund of the whole payment, a chargeback or an undo deletes the payment (the invoice reopens);
        a partial refund edits the payment down to what remains (QuickBooks payments can be edited)."""
        reversal = item.document
        assert isinstance(reversal, PaymentReversal)
        current = self._read_entity("Payment", remote_id(item, "payment"))
        if reversal.remaining <= 0:
            return LedgerRequest(
                "POST",
                "/payment",
                (item,),
                "delete_payment",
                {"operation": "delete"},
                payloads.identity(current),
            )
        body = payloads.reduced_payment_body(current, reversal.remaining)
        return LedgerRequest("POST", "/payment", (item,), "reduce_payment", body=body)

    def _cancellation_step(self, item: SyncItem, mapping: ResolvedMapping) -> LedgerRequest:
        """Nothing paid: void the invoice. Something paid: a credit memo for the unpaid balance, then a
        zero payment applying it to the invoice (an invoice with payments cannot be voided)."""
        cancellation = item.document
        assert isinstance(cancellation, Cancellation)
        invoice_id = remote_id(item, "invoice")
        if cancellation.amount_paid == 0:
            current = self._read_entity("Invoice", invoice_id)
            return LedgerRequest(
                "POST", "/invoice", (item,), "void", {"operation": "void"}, payloads.identity(current)
            )
        customer_id = remote_id(item, "contact")
        if "credit_note" not in item.remote_ids:
            line_items = self._line_items([cancellation.invoice], mapping)
            memo = payloads.credit_memo_body(cancellation, mapping, customer_id, line_items, self.company)
            return LedgerRequest("POST", "/creditmemo", (item,), "credit_note", body=memo)
        body = payloads.apply_credit_body(
            customer_id,
            invoice_id,
            item.remote_ids["credit_note"],
            cancellation.credit_amount,
            cancellation.date.isoformat(),
        )
        return LedgerRequest("POST", "/payment", (item,), "allocate", body=body)

    # --- Send and read ------------------------------------------------------------------------------------

    def send(self, request: LedgerRequest, key: IdempotencyKey) -> LedgerResponse:
        """Send under the engine's key as `requestid`. A 200 (a batch's per-item faults included) or a 400
        about the one object comes back for `read`; any other answer fails the whole request."""
        response = self.client.request(
            request.method, request.path, params=request.params, body=request.body, request_id=key
        )
        attempt = 0
        while self._stale(response, request) and attempt < STALE_RETRIES:
            # Someone changed the object since it was read: read its SyncToken again and write again, under
            # a key of its own (QuickBooks would replay the 5010 under the first).
            attempt += 1
            entity = STEP_ENTITY[request.step]
            current = self._read_entity(entity, str(request.body["Id"]))  # type: ignore[index]
            body = {**request.body, "SyncToken": str(current["SyncToken"])}  # type: ignore[dict-item]
            response = self.client.request(
                request.method, request.path, params=request.params, body=body, request_id=f"{key}-s{attempt}"
            )
        if response.status not in (200, 400):
            raise errors.request_error(
                response.status, response.body, response.headers, "request", response.correlation_id
            )
        return response

    @staticmethod
    def _stale(response: LedgerResponse, request: LedgerRequest) -> bool:
        if response.status != 400 or not isinstance(request.body, Mapping) or "SyncToken" not in request.body:
            return False
        found = errors.faults(response.body)
        return bool(found) and found[0].code == errors.STALE_SYNC_TOKEN

    def read(self, response: LedgerResponse, request: LedgerRequest) -> list[ItemOutcome]:
        """One outcome per item of the request."""
        outcomes = self._outcomes(response, request)
        if request.step == "create" and request.items[0].kind == ObjectKind.CUSTOMER:
            # The copy of the company's customers learns what was made; a refusal (or an answer that says
            # nothing of what was made) drops it.
            contacts.BOOKS.created(self.client.realm_id, request.items, outcomes, contacts.customer_row)
            if any(o.error is not None and o.error.code == errors.NAME_TAKEN for o in outcomes):
                contacts.learn_clash(self.client.realm_id)
        if request.step == "create" and request.items[0].kind == ObjectKind.INVOICE:
            invoice_customers.MEMORY.created(self.client.realm_id, request.items, outcomes)
        if request.step == "create" and any(isinstance(o.error, NeedsAttention) for o in outcomes):
            # Refused: perhaps for something the copies say (an item made inactive, a preference changed
            # since): the next build reads the company again.
            self.forget_copies()
        return outcomes

    def forget_copies(self) -> None:
        """Drop this process's copies of the company's settings, payment methods and items."""
        COMPANIES.forget(self.client.realm_id)
        PAYMENT_METHODS.forget(self.client.realm_id)
        items.ITEMS.forget(self.client.realm_id)

    def _outcomes(self, response: LedgerResponse, request: LedgerRequest) -> list[ItemOutcome]:
        cid = response.correlation_id
        if response.status != 200:
            error = errors.request_error(response.status, response.body, response.headers, request.step, cid)
            return [ItemOutcome(record_id=item.record_id, error=error) for item in request.items]
        if request.step == "create":
            kind = request.items[0].kind
            entity, noun = BATCHED[kind]
            numbers = [_number(item) for item in request.items] if kind == ObjectKind.INVOICE else []
            return results.read_batch(response.body, request.items, entity, kind, noun, numbers, cid)
        return [self._step_outcome(request, response)]

    def _step_outcome(self, request: LedgerRequest, response: LedgerResponse) -> ItemOutcome:
        item = request.items[0]
        document = item.document
        body = response.body if isinstance(response.body, Mapping) else {}
        cid = response.correlation_id
        entity = STEP_ENTITY[request.step]
        number = (
            document.number if request.step == "credit_note" and isinstance(document, Cancellation) else ""
        )
        outcome = results.entity_outcome(item, body, entity, ObjectKind.CANCELLATION, entity, number, cid)
        if outcome.remote is None:
            return outcome
        remote_id = outcome.remote.id
        if request.step in ("delete_payment", "reduce_payment"):
            # A deleted payment answers {"Payment": {"Id", "status": "Deleted"}}: no total to compare.
            return ItemOutcome(item.record_id, remote=RemoteRef(ObjectKind.PAYMENT_REVERSAL, remote_id))
        assert isinstance(document, Cancellation)
        if request.step == "void":
            ref = RemoteRef(ObjectKind.CANCELLATION, remote_id, document.invoice.number, Decimal(0))
            return ItemOutcome(item.record_id, remote=ref)
        if request.step == "credit_note":
            # The credit memo's total is compared to the cent before it is applied.
            return ItemOutcome(
                item.record_id, remote=outcome.remote, extra_ids={"credit_note": remote_id}, done=False
            )
        ref = RemoteRef(ObjectKind.CANCELLATION, item.remote_ids["credit_note"], document.number)
        return ItemOutcome(item.record_id, remote=ref, extra_ids={"allocation": remote_id})

    # --- Look-ups after a conflict or an unknown outcome ---------------------------------------------------

    def find_by_number(self, kind: ObjectKind, number: str) -> RemoteRef | None:
        """An object already in QuickBooks, by its number: invoices and credit memos by DocNumber,
        customers by DisplayName, payments by CashFlow's id in their PrivateNote."""
        if kind == ObjectKind.INVOICE:
            rows = self.client.query("Invoice", f"DocNumber = {quoted(number)}")
            return _first(rows, kind)
        if kind == ObjectKind.CANCELLATION:
            rows = self.client.query("CreditMemo", f"DocNumber = {quoted(number)}")
            return _first(rows, kind)
        if kind == ObjectKind.CUSTOMER:
            rows = self.client.query("Customer", f"DisplayName = {quoted(number)}")
            return _first(rows, kind)
        if kind in (ObjectKind.PAYMENT, ObjectKind.PAYMENT_REVERSAL):
            rows = self.client.query("Payment", f"PrivateNote LIKE {quoted('%' + number + '%')}")
            return _first(rows, kind)
        raise ValueError(f"QuickBooks has no number for {kind}")

    def find_existing(self, item: SyncItem) -> RemoteRef | None:
        """Whether this item's current step already happened in QuickBooks (after Conflict, a write that may
        have landed, or an unknown outcome older than the requestid's life)."""
        document = item.document
        if isinstance(document, Customer):
            emails = contacts.by_email(self.client, [document.email]) if document.email else {}
            rows = [r for r in emails.get(document.email.strip().casefold(), []) if contacts.is_active(r)]
            found = _first(rows, ObjectKind.CUSTOMER)
            # Without an email, by the names it may have been created under: the suffixed one first, since
            # a customer whose plain name was taken was created under it (contacts.resolve).
            return (
                found
                or self.find_by_number(ObjectKind.CUSTOMER, payloads.disambiguated_name(document))
                or self.find_by_number(ObjectKind.CUSTOMER, document.name)
            )
        if isinstance(document, Invoice):
            return self.find_by_number(ObjectKind.INVOICE, document.number)
        if isinstance(document, Payment):
            if "invoice" not in item.remote_ids:  # the engine always knows it; a bare look-up may not
                return self.find_by_number(ObjectKind.PAYMENT, f"[{document.id}]")
            return self._find_payment(item.remote_ids["invoice"], document)
        if isinstance(document, PaymentReversal):
            return self._find_reversal(item, document)
        assert isinstance(document, Cancellation)
        if document.amount_paid == 0:
            invoice = self._read_entity("Invoice", remote_id(item, "invoice"))
            voided = results.found_total(invoice, "invoice") == 0 and str(
                invoice.get("PrivateNote", "")
            ).startswith("Voided")
            return (
                RemoteRef(ObjectKind.CANCELLATION, str(invoice["Id"]), document.invoice.number, Decimal(0))
                if voided
                else None
            )
        return self.find_by_number(ObjectKind.CANCELLATION, document.number)

    def _find_payment(self, invoice_id: str, payment: Payment) -> RemoteRef | None:
        """The payment among those linked to its invoice whose note carries CashFlow's id: the invoice's
        LinkedTxn lists its payments, so no filter on a note field is needed."""
        invoice = self._read_entity("Invoice", invoice_id)
        marker = f"[{payment.id}]"
        for link in answers.objects(invoice.get("LinkedTxn")):
            if link.get("TxnType") != "Payment" or not link.get("TxnId"):
                continue
            found = self._read_entity("Payment", str(link["TxnId"]))
            if marker in str(found.get("PrivateNote", "")):
                return results.found_ref(found, ObjectKind.PAYMENT, "payment")
        return None

    def _find_reversal(self, item: SyncItem, reversal: PaymentReversal) -> RemoteRef | None:
        payment_id = remote_id(item, "payment")
        response = self.client.request("GET", f"/payment/{payment_id}")
        found = errors.faults(response.body)
        if response.status == 400 and found and found[0].code == "610":
            return RemoteRef(ObjectKind.PAYMENT_REVERSAL, payment_id)  # deleted: the reversal happened
        if response.status != 200:
            raise errors.request_error(
                response.status, response.body, response.headers, "payment", response.correlation_id
            )
        body = response.body if isinstance(response.body, Mapping) else {}
        payment = body.get("Payment") or {}
        total = results.found_total(payment, "payment")
        if reversal.remaining > 0 and total == reversal.remaining:
            return RemoteRef(ObjectKind.PAYMENT_REVERSAL, payment_id)
        return None


def _number(item: SyncItem) -> str:
    document = item.document
    return document.number if isinstance(document, Invoice) else ""


def _first(rows: Sequence[Any], kind: ObjectKind) -> RemoteRef | None:
    return results.found_ref(rows[0], kind, kind.value) if rows else None


# --- Chart parsing ----------------------------------------------------------------------------------------


def _account(row: Mapping[str, Any]) -> LedgerAccount:
    kind = str(row.get("AccountType") or "")
    return LedgerAccount(
        id=str(row["Id"]),
        code=str(row.get("AcctNum") or ""),
        name=str(row.get("Name") or ""),
        type=kind,
        status="ACTIVE" if row.get("Active", True) is not False else "ARCHIVED",
        is_revenue=row.get("Classification") == "Revenue" or kind in ("Income", "Other Income"),
        # Payments deposit to a Bank or Other Current Asset account (Undeposited Funds is one; quickbooks.md
        # 2.6).
        accepts_payments=kind in ("Bank", "Other Current Asset"),
    )


def _sales_rates(code: Mapping[str, Any], rates: Mapping[str, Decimal]) -> tuple[Decimal, ...]:
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    return tuple(rates.get(str((d.get("TaxRateRef") or {}).get("value")), Decimal(0)) for d in details)


def _tax_code(row: Mapping[str, Any], rates: Mapping[str, Decimal]) -> LedgerTaxRate:
    """A TaxCode as the contract's tax rate: its id is what lines carry, its rate the sum of its sales rates.
    The US pseudo-codes TAX/NON apply to revenue though they hold no rates themselves."""
    found = _sales_rates(row, rates)
    code = str(row["Id"])
    return LedgerTaxRate(
        code=code,
        name=str(row.get("Name") or code),
        rate=sum(found, Decimal(0)),
        status="ACTIVE" if row.get("Active", True) is not False else "ARCHIVED",
        applies_to_revenue=bool(found) or code in US_PSEUDO_CODES,
    )


def _us_line_codes(codes: list[LedgerTaxRate], company: payloads.Company) -> list[LedgerTaxRate]:
    """A US company's codes as lines see them: only the pseudo-codes TAX/NON go on a line (6100 otherwise),
    TAX at the jurisdiction's rate automated sales tax applies (so the mapping suggestion meets it by rate);
    the jurisdiction's own code is the transaction's, never a line's. TAX/NON are offered even when the
    company does not list them."""
    us_rate = sum(company.code_rates.get(company.us_code, ()), Decimal(0))
    pseudo = {
        payloads.US_TAXABLE: LedgerTaxRate(payloads.US_TAXABLE, "Taxable", us_rate, "ACTIVE", True),
        payloads.US_NON_TAXABLE: LedgerTaxRate(
            payloads.US_NON_TAXABLE, "Not taxable", Decimal(0), "ACTIVE", True
        ),
    }
    listed = [
        dataclasses.replace(pseudo[t.code], name=t.name, status=t.status)
        if t.code in pseudo
        else dataclasses.replace(t, applies_to_revenue=False)
        for t in codes
    ]
    return listed + [code for key, code in pseudo.items() if key not in {t.code for t in codes}]


def _zero_code(codes: Sequence[Mapping[str, Any]], code_rates: Mapping[str, tuple[Decimal, ...]]) -> str:
    """A 0% sales code for the rounding line: QuickBooks outside the US needs a real code on every line."""
    for row in codes:
        found = code_rates.get(str(row["Id"]))
        if found and all(rate == 0 for rate in found):
            return str(row["Id"])
    return ""
