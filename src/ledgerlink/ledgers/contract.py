"""The contract between the sync engine and a ledger.

The engine owns the loop (order, packing, leases, rate limits, token refresh, retries, states); a ledger only
builds a request from items, sends it, and reads per-item outcomes. Values crossing this line are frozen
dataclasses in CashFlow's words, with money as `Decimal`; nothing here touches the ORM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Protocol

from ledgerlink.ledgers.errors import LedgerError

LedgerKey = str  # a provider's key, as its package declares it (ledgers/providers.py)
IdempotencyKey = str


class ObjectKind(StrEnum):
    """What a sync record carries, in the order the engine sends them."""

    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"
    PAYMENT_REVERSAL = "payment_reversal"  # refund, chargeback, offline undo
    CANCELLATION = "cancellation"  # credit note + allocation, or void when nothing was paid


SEND_ORDER: tuple[ObjectKind, ...] = (
    ObjectKind.CUSTOMER,
    ObjectKind.INVOICE,
    ObjectKind.PAYMENT,
    ObjectKind.PAYMENT_REVERSAL,
    ObjectKind.CANCELLATION,
)


# --- CashFlow documents, as the engine hands them to a ledger -------------------------------------------


@dataclass(frozen=True)
class Customer:
    id: str  # CashFlow's id; a ledger keeps it on its contact where it has a field for it
    name: str
    email: str
    phone: str = ""
    address_lines: tuple[str, ...] = ()
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    line_type: str  # cashflow.md taxonomy: milestone, system, adder, discount, incentive, ...
    description: str
    quantity: Decimal
    unit_amount: Decimal  # in the invoice's tax mode (inclusive or exclusive)
    line_amount: Decimal  # quantity x unit amount, rounded to the cent
    tax_amount: Decimal  # rounded per line to the cent, ROUND_HALF_UP
    tax_rate_id: str  # CashFlow tax rate id: the mapping key
    tax_rate_percent: Decimal


@dataclass(frozen=True)
class Invoice:
    id: str
    number: str  # INV-00042; never changes
    customer: Customer
    issue_date: dt.date
    due_date: dt.date
    currency: str
    tax_inclusive: bool
    lines: tuple[InvoiceLine, ...]
    subtotal: Decimal  # excluding tax
    total_tax: Decimal
    total: Decimal
    reference: str = ""
    url: str = ""  # deep link back to CashFlow
    project_id: str = ""
    project_name: str = ""


@dataclass(frozen=True)
class Payment:
    id: str
    invoice_id: str
    invoice_number: str
    amount: Decimal
    date: dt.date
    method: str  # card | bank_transfer | cash | cheque | finance
    currency: str
    reference: str = ""


@dataclass(frozen=True)
class PaymentReversal:
    """Money taken back from a payment. `remaining` is what is left of the payment afterwards (0 for a full
    refund, a chargeback or an offline undo); a ledger that cannot edit payments deletes and re-posts."""

    id: str
    payment: Payment
    amount: Decimal
    remaining: Decimal
    date: dt.date
    reason: str  # refund | chargeback | undo


@dataclass(frozen=True)
class Cancellation:
    """A cancelled invoice. `credit_amount` is what the credit note must cover (the unpaid balance)."""

    id: str  # CashFlow credit note id
    number: str  # CashFlow credit note number (CN-00007)
    invoice: Invoice
    credit_amount: Decimal
    date: dt.date
    amount_paid: Decimal


Document = Customer | Invoice | Payment | PaymentReversal | Cancellation


# --- Mapping, resolved for one connection ---------------------------------------------------------------


@dataclass(frozen=True)
class AccountRef:
    """A ledger account: its id and, where the ledger has one, its code."""

    id: str
    code: str = ""
    name: str = ""


@dataclass(frozen=True)
class TaxRateMapping:
    revenue_account: AccountRef
    ledger_tax_code: str  # the ledger's own tax code


@dataclass(frozen=True)
class ResolvedMapping:
    """Everything a payload builder needs to place a CashFlow document in the ledger."""

    tax_rates: Mapping[str, TaxRateMapping]  # by CashFlow tax rate id
    line_accounts: Mapping[str, AccountRef]  # by line type; unset types fall back to the tax rate's account
    payment_accounts: Mapping[str, AccountRef]  # by payment method
    default_payment_account: AccountRef | None
    tracking_category_id: str = ""  # optional: one tracking category, an option per project
    tracking_category_name: str = ""
    tracking_options: Mapping[str, str] = field(default_factory=dict)  # project id -> option name

    def account_for(self, line: InvoiceLine) -> AccountRef | None:
        """The revenue account for a line: its line type's account if mapped, else its tax rate's."""
        if line.line_type in self.line_accounts:
            return self.line_accounts[line.line_type]
        tax = self.tax_rates.get(line.tax_rate_id)
        return tax.revenue_account if tax else None

    def payment_account_for(self, method: str) -> AccountRef | None:
        """The account a payment of this method lands in: the method's own, else the default."""
        return self.payment_accounts.get(method, self.default_payment_account)


# --- What the ledger reports about itself ----------------------------------------------------------------


@dataclass(frozen=True)
class LedgerAccount:
    id: str
    code: str
    name: str
    type: str  # the ledger's own type (REVENUE, SALES, BANK, ...)
    status: str  # ACTIVE | ARCHIVED
    is_revenue: bool
    accepts_payments: bool
    default_tax_code: str = ""


@dataclass(frozen=True)
class LedgerTaxRate:
    code: str
    name: str
    rate: Decimal
    status: str
    applies_to_revenue: bool


@dataclass(frozen=True)
class TrackingCategory:
    id: str
    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    accounts: tuple[LedgerAccount, ...]
    tax_rates: tuple[LedgerTaxRate, ...]
    tracking: tuple[TrackingCategory, ...] = ()
    # The currencies the ledger takes documents in (its base currency and those it has enabled); empty when
    # the ledger takes any or could not say, and then nothing is checked.
    currencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tenant:
    """A set of books (an organisation, a company) the user may connect."""

    id: str
    name: str
    connection_id: str = ""  # the ledger's id for this grant's link to the tenant, where it has one


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime
    scope: str = ""


# --- One exchange with the ledger -----------------------------------------------------------------------


@dataclass(frozen=True)
class SyncItem:
    """One sync record as the ledger sees it: the document and the remote ids it depends on."""

    record_id: str
    kind: ObjectKind
    document: Document
    # Remote ids already known: "contact" for the invoice's customer, "invoice" for payments and
    # cancellations, "payment" for reversals.
    remote_ids: Mapping[str, str] = field(default_factory=dict)
    # Part of a historical push (a backfill), not live sync: a ledger may answer its customer match from the
    # copy the backfill's earlier claims read (ledgers/books.py).
    historical: bool = False


@dataclass(frozen=True)
class LedgerRequest:
    """One HTTP request for one or more items of one kind. `step` names which step of the items' operation it
    is ("create", "delete_payment", "repost_payment", "credit_note", "allocate", "void"): derive the
    idempotency key from the items' record ids AND the step, since a key re-used on a different request is
    refused by the ledger."""

    method: str
    path: str
    items: tuple[SyncItem, ...]
    step: str = "create"
    params: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    # Calls this request spends of the ledger's per-minute budget: 1, unless the ledger meters each item of
    # a batch like a call of its own.
    cost: int = 1


@dataclass(frozen=True)
class RateBudget:
    """What the ledger said about our remaining budget; None where it said nothing."""

    minute_remaining: int | None = None
    day_remaining: int | None = None
    retry_after_s: float | None = None
    # Seconds left in the ledger's current minute window, where its answer names them (a refusal's wait
    # that is documented to run to the window's end): the engine learns the window's phase from it.
    window_left_s: float | None = None

    @property
    def says_anything(self) -> bool:
        return any(
            value is not None
            for value in (self.minute_remaining, self.day_remaining, self.retry_after_s, self.window_left_s)
        )


@dataclass(frozen=True)
class LedgerResponse:
    status: int
    body: object
    headers: Mapping[str, str]
    elapsed_ms: float
    correlation_id: str = ""
    budget: RateBudget = RateBudget()


@dataclass(frozen=True)
class RemoteRef:
    kind: ObjectKind
    id: str
    number: str = ""
    total: Decimal | None = None  # the ledger's own total, compared with CashFlow's to the cent


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item. Operations of several steps (a partial refund: delete the payment, then
    re-post the remainder; a cancellation after a payment: credit note, then allocation) report `done=False`
    with `extra_ids` after each intermediate step: the engine stores `extra_ids` into the item's `remote_ids`
    and builds again; `build` then emits the next step. The record is synced once an outcome has
    `done=True` and `remote`."""

    record_id: str
    remote: RemoteRef | None = None
    error: LedgerError | None = None
    warnings: tuple[str, ...] = ()
    # Extra remote ids the write produced (a credit note id before its allocation, a deleted payment id).
    extra_ids: Mapping[str, str] = field(default_factory=dict)
    done: bool = True


@dataclass(frozen=True)
class CustomerResolution:
    """Customers looked up in the ledger before any is created: `matched` are outcomes for customers found
    (by email), `to_create` the rest, their names made unique where an active contact already has the name."""

    matched: tuple[ItemOutcome, ...]
    to_create: tuple[SyncItem, ...]


@dataclass(frozen=True)
class ProviderInfo:
    """What a provider declares about itself in its package's `__init__.py` (ledgers/providers.py lists
    them): its key and the name its users know it by."""

    key: str
    display_name: str  # as its users spell it, never a .title() of the key

    @property
    def connect_label(self) -> str:
        return f"Connect {self.display_name}"


@dataclass(frozen=True)
class RateLimits:
    """A ledger's published per-tenant limits, which the engine's shared budget keeps under."""

    per_minute: int
    in_flight: int
    per_day: int
    # A slot held longer than this is considered abandoned (a killed worker) and freed.
    slot_ttl_s: float = 180.0
    # Whether each item of a batch spends a call of its own (a request's `cost` is then its item count).
    items_metered: bool = False


class ConnectionLike(Protocol):
    """What a ledger reads from a stored connection to talk to its tenant (the ORM model satisfies it)."""

    @property
    def access_token(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    @property
    def organisation_id(self) -> object: ...


class Ledger(Protocol):
    """What a ledger answers; the engine does the rest. Docstrings on implementations name the ledger docs.

    The engine's loop for one connection: `resolve_customers` for customer items (matched ones are synced
    without a write), then `build` → `send` → `read` per request, in `SEND_ORDER`. `send` raises a
    `LedgerError` when the whole request failed (transport, auth, rate limit, outage); `read` returns one
    outcome per item. After `UnknownOutcome` older than the ledger's key lifetime, or after `Conflict`,
    `find_existing` says whether the item is already in the ledger."""

    key: ClassVar[LedgerKey]
    max_batch: ClassVar[int]
    limits: ClassVar[RateLimits]
    # How long the ledger answers a repeated idempotency key with its first response: a request whose
    # outcome is unknown is replayed inside this window, and looked up after it.
    idempotency_window: ClassVar[dt.timedelta]

    @classmethod
    def for_connection(cls, connection: ConnectionLike) -> Ledger:
        """The ledger for a connection whose access token is fresh."""
        ...

    @classmethod
    def create_request(cls, items: tuple[SyncItem, ...], mapping: ResolvedMapping) -> LedgerRequest:
        """The create request for new invoices, built without a call: what the preview shows."""
        ...

    @classmethod
    def web_url(cls, tenant_id: str, kind: ObjectKind, object_id: str) -> str:
        """Where a person sees this object in the ledger's own app (a deep link from our pages), built
        without a call; "" for a kind the app has no page for."""
        ...

    def load_chart(self) -> Chart: ...

    def resolve_customers(self, items: Sequence[SyncItem]) -> CustomerResolution: ...

    def build(self, items: Sequence[SyncItem], mapping: ResolvedMapping) -> list[LedgerRequest]: ...

    def send(self, request: LedgerRequest, key: IdempotencyKey) -> LedgerResponse: ...

    def read(self, response: LedgerResponse, request: LedgerRequest) -> list[ItemOutcome]: ...

    def find_by_number(self, kind: ObjectKind, number: str) -> RemoteRef | None: ...

    def find_existing(self, item: SyncItem) -> RemoteRef | None: ...
