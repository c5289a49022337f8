"""What every page says at the top when something needs the user: a ledger to reconnect, invoices that wait
for a fix."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync.models import SyncRecord, SyncState


def attention(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    mine = {"organisation__memberships__user": user}
    reconnect = Connection.objects.filter(status=ConnectionStatus.NEEDS_RECONNECT, **mine).select_related(
        "organisation"
    )
    waiting = SyncRecord.objects.filter(state=SyncState.NEEDS_ATTENTION, **mine).count()
    return {"banner_reconnect": list(reconnect), "banner_attention": waiting}
