"""Counting calls twice, from both ends: the sandbox's request log (what Xero would bill against the tenant's
limits) and the connector's own `ledger_call_made` signal (every exchange, including the identity calls the
sandbox logs without a tenant). The two must agree on the Accounting API calls."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ledgerlink.devtools.sandboxes import SandboxControl
from ledgerlink.ledgers.signals import ledger_call_made

API_PREFIX = "/api.xro/2.0"
# QuickBooks' Accounting API: /v3/company/<realmId>/<entity>; its identity calls live elsewhere.
QBO_API = re.compile(r"^/v3/company/[^/]+", re.IGNORECASE)


class CallTally:
    """Every connector exchange while active, by (method, path with ids collapsed)."""

    def __init__(self) -> None:
        self.by_endpoint: Counter[str] = Counter()

    def __enter__(self) -> CallTally:
        ledger_call_made.connect(self._heard, dispatch_uid=f"bench-tally-{id(self)}")
        return self

    def __exit__(self, *exc: object) -> None:
        ledger_call_made.disconnect(dispatch_uid=f"bench-tally-{id(self)}")

    def _heard(self, sender: object, method: str, path: str, **kwargs: Any) -> None:
        self.by_endpoint[f"{method} {endpoint(path)}"] += 1

    @property
    def api_calls(self) -> int:
        return sum(
            n for key, n in self.by_endpoint.items() if not key.split(" ", 1)[1].startswith("identity:")
        )

    @property
    def identity_calls(self) -> int:
        return sum(self.by_endpoint.values()) - self.api_calls


def endpoint(path: str) -> str:
    """/api.xro/2.0/Invoices/<uuid> -> /Invoices/{id}; /v3/company/<realm>/batch -> /batch; identity paths
    (token, connections) -> identity:..."""
    collapsed = "/".join("{id}" if len(part) >= 32 or part.isdigit() else part for part in path.split("/"))
    if collapsed.lower().startswith(API_PREFIX):
        return collapsed[len(API_PREFIX) :]
    quickbooks = QBO_API.match(collapsed)
    if quickbooks:
        return collapsed[quickbooks.end() :]
    return f"identity:{collapsed}"


def last_seq(control: SandboxControl, tenant_id: str) -> int:
    """The newest request-log sequence number of the tenant (0 before any call)."""
    logged = control.requests(tenant_id)
    return int(logged[-1]["seq"]) if logged else 0


def sandbox_calls(control: SandboxControl, tenant_id: str, since: int) -> int:
    """Accounting API calls the sandbox logged for the tenant after `since`, refused ones included."""
    return control.count(tenant_id, since=since)
