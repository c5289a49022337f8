"""Sending again: a user's retry of one record or of everything failed, and the automatic re-queue of
configuration problems when a mapping changes (wired to the mapping models' signals in apps.py)."""

from __future__ import annotations

import uuid

from django.db.models import Q

from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.models import Connection, ConnectionStatus
from ledgerlink.sync import doorbell, transitions
from ledgerlink.sync.models import RETRYABLE_STATES, SyncRecord, SyncState


def _ring_after_commit(connection_ids: set[int]) -> None:
    for connection_id in connection_ids:
        doorbell.ring_after_commit(connection_id)


def retry_record(record: SyncRecord) -> bool:
    """Send one record again now (the user fixed something). False when it is not in a retryable state."""
    if record.state not in RETRYABLE_STATES:
        return False
    count = transitions.requeue(pk=record.pk, state__in=RETRYABLE_STATES)
    if count:
        _ring_after_commit({record.connection_id})
    return bool(count)


def retry_failed(organisation: Organisation) -> int:
    """Send again everything of this organisation that waits for the user or for a retry. Only active
    connections: a connection needing a reconnect resumes its records when it is reconnected."""
    query = SyncRecord.objects.filter(
        organisation=organisation,
        state__in=RETRYABLE_STATES,
        connection__status=ConnectionStatus.ACTIVE,
    )
    connection_ids = set(query.values_list("connection_id", flat=True))
    count = transitions.requeue(pk__in=list(query.values_list("pk", flat=True)))
    _ring_after_commit(connection_ids)
    return count


def requeue_configuration_problems(organisation_id: uuid.UUID, provider: str) -> int:
    """A mapping of (organisation, provider) changed: every record stuck on a configuration problem there may
    now go through. Records waiting behind them wake when they sync."""
    connections = Connection.objects.filter(
        organisation_id=organisation_id, provider=provider, status=ConnectionStatus.ACTIVE
    )
    query = SyncRecord.objects.filter(
        Q(connection__in=connections),
        state=SyncState.NEEDS_ATTENTION,
        error_is_configuration=True,
    )
    connection_ids = set(query.values_list("connection_id", flat=True))
    count = transitions.requeue(pk__in=list(query.values_list("pk", flat=True)))
    _ring_after_commit(connection_ids)
    return count


def on_mapping_changed(sender: type, instance: object, **kwargs: object) -> None:
    """post_save / post_delete receiver for the ledgers' mapping models."""
    organisation_id = getattr(instance, "organisation_id", None)
    provider = getattr(instance, "provider", "")
    if organisation_id and provider:
        requeue_configuration_problems(organisation_id, provider)


def on_connection_saved(sender: type, instance: Connection, **kwargs: object) -> None:
    """A connection back to active (reconnected): its paused records are due again. A connection marked
    needs_reconnect outside a sync (a refused token refresh, the ledger's disconnect landing page finding
    the grant gone): its open records wait paused, as when a sync meets the refusal."""
    if instance.status == ConnectionStatus.ACTIVE and transitions.resume_connection(instance.pk):
        _ring_after_commit({instance.pk})
    elif instance.status == ConnectionStatus.NEEDS_RECONNECT:
        transitions.pause_connection(instance, instance.last_error)


def on_sync_allowed_again(sender: object, organisation_id: uuid.UUID, **kwargs: object) -> None:
    """`sync_allowed_again` receiver: the records held while the organisation could not sync are due now."""
    _ring_after_commit(transitions.release_held(organisation_id))
