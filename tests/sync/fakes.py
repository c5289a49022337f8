"""An in-process ledger for the engine's unit tests: it keeps what it was sent, enforces number uniqueness,
replays responses by idempotency key, and fails on cue. The end-to-end tests use the real Xero sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerlink.ledgers import contract as c
from ledgerlink.ledgers.contract import (
    ItemOutcome,
    LedgerRequest,
    LedgerResponse,
    ObjectKind,
    RateLimits,
    RemoteRef,
    SyncItem,
)
from ledgerlink.ledgers.errors import Conflict, LedgerError, NeedsAttention, UnknownOutcome

#: A fault decides, for one request, what goes wrong: raise before (never sent), or "drop" (commit, then lose
#: the answer). Returning None lets the request through.
Fault = Callable[[LedgerRequest], "LedgerError | str | None"]


@dataclass
class Stored:
    kind: ObjectKind
    number: str
    total: Decimal | None
    document_id: str
    deleted: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class FakeLedger:
    key = "xero"
    max_batch = 50
    limits = RateLimits(per_minute=60, in_flight=5, per_day=5000)
    idempotency_window = dt.timedelta(minutes=6)

    def __init__(self) -> None:
        self.objects: dict[str, Stored] = {}
        self.sent: list[tuple[str, str, int, str]] = []  # (step, path, items, key)
        self.lookups: list[str] = []
        self.cache: dict[str, tuple[object, LedgerResponse]] = {}
        self.faults: list[Fault] = []
        self.skew: dict[str, Decimal] = {}  # number -> amount the ledger adds to the total
        self.rejects: dict[str, LedgerError] = {}  # document id -> item error
        self.unbuildable: dict[str, LedgerError] = {}  # document id -> error raised while building
        self._ids = 0

    # --- helpers for tests -------------------------------------------------------------------------------

    def live(self, kind: ObjectKind) -> list[Stored]:
        return [o for o in self.objects.values() if o.kind == kind and not o.deleted]

    def numbers(self, kind: ObjectKind) -> list[str]:
        return sorted(o.number for o in self.live(kind))

    def writes(self, step: str | None = None) -> list[tuple[str, str, int, str]]:
        return [s for s in self.sent if step is None or s[0] == step]

    def fail_once(
        self, error: LedgerError | str, when: Callable[[LedgerRequest], bool] = lambda r: True
    ) -> None:
        fired = []

        def fault(request: LedgerRequest) -> LedgerError | str | None:
            if fired or not when(request):
                return None
            fired.append(True)
            return error

        self.faults.append(fault)

    # --- the contract -----------------------------------------------------------------------------------

    def load_chart(self) -> c.Chart:
        return c.Chart(accounts=(), tax_rates=())

    def resolve_customers(self, items: Sequence[SyncItem]) -> c.CustomerResolution:
        self.lookups.append("contacts")
        emails = {o.extra.get("email"): o for o in self.live(ObjectKind.CUSTOMER)}
        matched, to_create = [], []
        for item in items:
            found = emails.get(item.document.email)  # type: ignore[union-attr]
            if found:
                matched.append(ItemOutcome(item.record_id, RemoteRef(ObjectKind.CUSTOMER, found.extra["id"])))
            else:
                to_create.append(item)
        return c.CustomerResolution(tuple(matched), tuple(to_create))

    def build(self, items: Sequence[SyncItem], mapping: c.ResolvedMapping) -> list[LedgerRequest]:
        for item in items:  # a ledger that writes or reads while building (QuickBooks' items) fails here
            if item.document.id in self.unbuildable:
                raise self.unbuildable[item.document.id]
        requests = []
        for kind in (ObjectKind.CUSTOMER, ObjectKind.INVOICE, ObjectKind.PAYMENT):
            of_kind = tuple(i for i in items if i.kind == kind)
            for start in range(0, len(of_kind), self.max_batch):
                chunk = of_kind[start : start + self.max_batch]
                body = tuple((i.document.id, tuple(sorted(i.remote_ids.items()))) for i in chunk)
                cost = len(chunk) if self.limits.items_metered else 1
                requests.append(
                    LedgerRequest("PUT", f"/{kind.value}s", chunk, "create", body=body, cost=cost)
                )
        for item in items:
            if item.kind == ObjectKind.PAYMENT_REVERSAL:
                step = "repost_payment" if "deleted_payment" in item.remote_ids else "delete_payment"
            elif item.kind == ObjectKind.CANCELLATION:
                step = "allocate" if "credit_note" in item.remote_ids else "credit_note"
            else:
                continue
            requests.append(LedgerRequest("POST", f"/{step}", (item,), step, body=(item.document.id, step)))
        return requests

    def send(self, request: LedgerRequest, key: str) -> LedgerResponse:
        self.sent.append((request.step, request.path, len(request.items), key))
        if key in self.cache:
            body, response = self.cache[key]
            if body != request.body:
                raise NeedsAttention("Idempotency key reused on a different request.", status=400)
            return response
        drop = False
        for fault in self.faults:
            action = fault(request)
            if isinstance(action, LedgerError):
                raise action
            drop = drop or action == "drop"
        response = LedgerResponse(200, [self._execute(item, request.step) for item in request.items], {}, 1.0)
        self.cache[key] = (request.body, response)
        if drop:
            raise UnknownOutcome("Timed out reading the answer.")
        return response

    def read(self, response: LedgerResponse, request: LedgerRequest) -> list[ItemOutcome]:
        return list(response.body)  # type: ignore[arg-type]

    def find_by_number(self, kind: ObjectKind, number: str) -> RemoteRef | None:
        for remote_id, stored in self.objects.items():
            if stored.kind == kind and stored.number == number and not stored.deleted:
                return RemoteRef(kind, remote_id, stored.number, stored.total)
        return None

    def find_existing(self, item: SyncItem) -> RemoteRef | None:
        self.lookups.append(item.kind.value)
        if item.kind in (ObjectKind.INVOICE, ObjectKind.CANCELLATION):  # by number, as Xero finds them
            return self.find_by_number(item.kind, item.document.number)  # type: ignore[union-attr]
        for remote_id, stored in self.objects.items():
            if stored.document_id == item.document.id and stored.kind == item.kind and not stored.deleted:
                return RemoteRef(item.kind, remote_id, stored.number, stored.total)
        return None

    # --- the ledger's side ------------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._ids += 1
        return f"remote-{self._ids}"

    def _execute(self, item: SyncItem, step: str) -> ItemOutcome:
        document = item.document
        if document.id in self.rejects:
            return ItemOutcome(item.record_id, error=self.rejects[document.id])
        number, total = self._number_and_total(document)
        if (
            step == "create"
            and item.kind in (ObjectKind.INVOICE, ObjectKind.CUSTOMER)
            and self.find_by_number(item.kind, number)
        ):
            return ItemOutcome(item.record_id, error=Conflict(f"{number} must be unique.", status=400))
        if step == "delete_payment":
            self.objects[item.remote_ids["payment"]].deleted = True
            if document.remaining > 0:  # type: ignore[union-attr]
                return ItemOutcome(
                    item.record_id, extra_ids={"deleted_payment": item.remote_ids["payment"]}, done=False
                )
            return ItemOutcome(
                item.record_id, RemoteRef(ObjectKind.PAYMENT_REVERSAL, item.remote_ids["payment"])
            )
        remote_id = self._new_id()
        kind = ObjectKind.PAYMENT if step == "repost_payment" else item.kind
        extra = {"id": remote_id, "email": getattr(document, "email", "")}
        self.objects[remote_id] = Stored(kind, number, total, document.id, extra=extra)
        if step == "credit_note":
            return ItemOutcome(item.record_id, extra_ids={"credit_note": remote_id}, done=False)
        if step == "allocate":
            return ItemOutcome(
                item.record_id, RemoteRef(item.kind, item.remote_ids["credit_note"], number, total)
            )
        return ItemOutcome(item.record_id, RemoteRef(item.kind, remote_id, number, total))

    def _number_and_total(self, document: c.Document) -> tuple[str, Decimal | None]:
        if isinstance(document, c.Invoice):
            return document.number, document.total + self.skew.get(document.number, Decimal(0))
        if isinstance(document, c.Cancellation):
            return document.number, document.credit_amount
        if isinstance(document, c.Payment):
            return document.id, document.amount
        if isinstance(document, c.PaymentReversal):
            return document.id, document.remaining
        return document.id, None
