"""Billing's reactions to the ledgers' signals (ledgers never imports billing)."""

from __future__ import annotations

from typing import Any

from ledgerlink.billing import services, usage
from ledgerlink.billing.models import UsageKind
from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.signals import ConnectBlocked, SyncBlocked

NOT_ENABLED = (
    "The connector is not enabled for this organisation. An administrator must agree to the pricing terms "
    "on the billing page before a ledger can be connected."
)
CANCELLED = (
    "The connector subscription was cancelled. An administrator can enable it again on the billing page "
    "before a ledger can be connected."
)

ENDED = (
    "The connector subscription has ended, so syncing is paused. Nothing is lost: history and mappings are "
    "kept, and what CashFlow records meanwhile is sent once an administrator enables the connector again."
)


def block_connect_until_enabled(sender: Any, organisation: Organisation, **kwargs: Any) -> None:
    """`connect_requested` receiver: nothing connects before the terms are accepted, or after cancelling."""
    if services.can_connect(organisation):
        return
    raise ConnectBlocked(NOT_ENABLED if services.subscription_of(organisation) is None else CANCELLED)


def count_ledger_call(
    sender: Any, organisation_id: Any, provider: str, calls: int = 1, **kwargs: Any
) -> None:
    """`ledger_call_made` receiver: the connector's own calls to a ledger are exempt usage. A call made for
    no organisation (an app-level call) has nobody to attribute it to and is not counted."""
    if not organisation_id:
        return
    usage.record_exempt(organisation_id, UsageKind.LEDGER_CALL, provider=provider, calls=calls)


def hold_sync_after_service(sender: Any, organisation: Organisation, **kwargs: Any) -> None:
    """`sync_requested` receiver: a cancelled subscription syncs until its paid month or trial is over."""
    if not services.may_sync(organisation):
        raise SyncBlocked(ENDED)
