"""The contract suite's harness for Tally, and its registration: Tally joins the product's registries for
the test that uses it (monkeypatched, so nothing outside this folder names it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from ledgerlink.ledgers import providers, registry
from ledgerlink.ledgers.contract import AccountRef, Chart, ObjectKind, ResolvedMapping
from ledgerlink.ledgers.oauth import redirect_uri

from ..harness import RemoteInvoice, account_by_code, consent_answer, mapping_for
from .connector import INFO, KEY, TallyLedger, TallyOAuth
from .sandbox import Ledger, TallySandbox

_running: list[TallySandbox] = []


def session_sandbox() -> TallySandbox:
    """One server for the test process (a daemon thread; it ends with the process)."""
    if not _running:
        _running.append(TallySandbox())
    return _running[0]


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tally in the product's registries for this test, as its registry line would put it there."""
    monkeypatch.setitem(providers.PROVIDERS, KEY, INFO)
    monkeypatch.setitem(registry.LEDGERS, KEY, TallyLedger)
    monkeypatch.setitem(registry.OAUTH_PROVIDERS, KEY, TallyOAuth)


@dataclass
class TallyHarness:
    sandbox: TallySandbox
    client_id: str = ""
    provider: str = KEY
    sales_code: str = "4000"
    archived_code: str = "4900"
    bank_code: str = "1000"
    clearing_code: str = "1200"
    tax_code: str = "G10"
    setup_reads: ClassVar[int] = 2  # accounts, taxes
    connect_reads: ClassVar[int] = 2
    customer_match_reads: ClassVar[int] = 1
    one_tenant_per_grant: ClassVar[bool] = False
    rotates_every_refresh: ClassVar[bool] = True
    keeps_customer_ids: ClassVar[bool] = True
    maybe_written_faults: ClassVar[frozenset[str]] = frozenset({"server_error"})
    expected_codes: ClassVar[dict[str, str]] = {
        "rate_limit": "slow_down",
        "offline": "book_locked",
        "maintenance": "down_for_upgrade",
        "server_error": "internal",
        "token_expired": "token_stale",
        "token_revoked": "grant_gone",
        "drop": "no_response",
        "drop_after_commit": "no_response",
    }

    @classmethod
    def start(cls, request: pytest.FixtureRequest) -> TallyHarness:
        register(request.getfixturevalue("monkeypatch"))
        return cls(session_sandbox())

    @property
    def state(self) -> Any:
        return self.sandbox.state

    def configure(self, settings: Any) -> None:
        settings.TALLY_URL = self.sandbox.base_url
        self.client_id, settings.TALLY_CLIENT_SECRET = self.state.create_app([redirect_uri(KEY)])
        settings.TALLY_CLIENT_ID = self.client_id

    def new_tenant(self, name: str = "Sunny Installs") -> str:
        return str(self.state.create_book(name))

    def consent(self, authorize_url: str, tenant_ids: list[str]) -> dict[str, str]:
        return consent_answer(self.state, authorize_url, tenant_ids)

    def calls(self, tenant_id: str, **filters: Any) -> int:
        return int(self.state.count(tenant_id, **filters))

    def writes(self, tenant_id: str) -> int:
        return self.calls(tenant_id, method="POST")

    def mapping(self, chart: Chart, sales_code: str | None = None) -> ResolvedMapping:
        return mapping_for(self, chart, sales_code)

    def account(self, chart: Chart, code: str) -> AccountRef:
        return account_by_code(chart, code)

    def customer_numbers(self, tenant_id: str) -> dict[str, str]:
        return {c["name"]: c["our_ref"] for c in self.state.books[tenant_id].customers.values()}

    def invoice(self, tenant_id: str, number: str) -> RemoteInvoice | None:
        book = self.state.books[tenant_id]
        for found in book.invoices.values():
            if found["number"] == number:
                due = Ledger(book, self.state).due(found)
                voided = found["status"] == "void"
                return RemoteInvoice(found["id"], found["total"], found["tax"], due, voided)
        return None

    def invoice_numbers(self, tenant_id: str) -> list[str]:
        return [i["number"] for i in self.state.books[tenant_id].invoices.values()]

    def inject(self, fault: str, tenant_id: str, kind: ObjectKind, count: int = 1) -> None:
        for _ in range(count):  # each entry fires once, on the book's next write (all go through /batch)
            self.state.faults.append({"book": tenant_id, "path": "/batch", "kind": fault})

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def revoke_grants(self) -> None:
        self.state.revoke_client(self.client_id)
