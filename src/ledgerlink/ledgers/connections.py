"""Connection lifecycle: who may connect, finishing a connect, instant setup (the chart), disconnect, and
finding out that the ledger's side ended the grant."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.charts import refresh_chart
from ledgerlink.ledgers.contract import Tenant, TokenSet
from ledgerlink.ledgers.errors import LedgerError, Reconnect
from ledgerlink.ledgers.models import OAUTH_STATE_TTL, Connection, ConnectionStatus, OAuthState
from ledgerlink.ledgers.registry import oauth_for
from ledgerlink.ledgers.signals import ConnectBlocked, connect_requested
from ledgerlink.ledgers.tokens import ensure_fresh_token

logger = logging.getLogger("ledgerlink.ledgers")


class ConnectRefused(Exception):
    """A connect that cannot finish; the message is for the user."""


def live_connection(organisation: Any) -> Connection | None:
    """The organisation's connection that is not disconnected (at most one, by constraint)."""
    return (
        Connection.objects.filter(organisation=organisation)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )


def connect_refusal(organisation: Organisation, user: Any, provider: str) -> str:
    """Why this connect must not start, or "" to go ahead. A needs_reconnect connection to the same ledger
    may be repaired; anything else live must be disconnected first (cashflow.md: one ledger at a time)."""
    existing = live_connection(organisation)
    if existing and not (
        existing.provider == provider and existing.status == ConnectionStatus.NEEDS_RECONNECT
    ):
        return (
            f"{organisation.name} is already connected to {existing.get_provider_display()} "
            f"({existing.tenant_name}). Disconnect it first."
        )
    for receiver, result in connect_requested.send_robust(
        sender=None, organisation=organisation, user=user, provider=provider
    ):
        if isinstance(result, ConnectBlocked):
            return result.message
        if isinstance(result, Exception):
            # Fail closed: a receiver that cannot decide (billing down) must not wave the connect through.
            logger.error("connect_requested receiver %r failed: %s", receiver, type(result).__name__)
            return "The connection cannot be started just now. Try again in a few minutes."
    return ""


def hold_tokens(state: OAuthState, tokens: TokenSet, tenants: list[Tenant]) -> None:
    """Keep the new tokens (encrypted) on the state row until the user picks a tenant."""
    state.access_token = tokens.access_token
    state.refresh_token = tokens.refresh_token
    state.access_expires_at = tokens.expires_at
    state.scopes = tokens.scope
    state.tenants = [dataclasses.asdict(t) for t in tenants]
    state.save(update_fields=["access_token", "refresh_token", "access_expires_at", "scopes", "tenants"])


def held_tokens(state: OAuthState) -> TokenSet:
    assert state.access_expires_at is not None
    return TokenSet(state.access_token, state.refresh_token, state.access_expires_at, state.scopes)


def complete_connection(state: OAuthState, tokens: TokenSet, tenant: Tenant) -> Connection:
    """Create (or repair) the organisation's connection to `tenant`, in one transaction."""
    now = timezone.now()
    try:
        with transaction.atomic():
            connection = (
                Connection.objects.select_for_update()
                .filter(organisation_id=state.organisation_id)
                .exclude(status=ConnectionStatus.DISCONNECTED)
                .first()
            )
            if connection and (connection.provider != state.provider or connection.tenant_id != tenant.id):
                raise ConnectRefused(
                    f"This organisation is connected to {connection.tenant_name}. Disconnect it first."
                )
            connection = connection or Connection(
                organisation_id=state.organisation_id, provider=state.provider, tenant_id=tenant.id
            )
            connection.status = ConnectionStatus.ACTIVE
            connection.tenant_name = tenant.name
            connection.remote_connection_id = tenant.connection_id
            connection.access_token = tokens.access_token
            connection.refresh_token = tokens.refresh_token
            connection.access_expires_at = tokens.expires_at
            connection.refresh_token_issued_at = now
            connection.scopes = tokens.scope
            connection.connected_by_id = state.user_id
            connection.connected_at = now
            connection.last_error = ""
            connection.save()
            state.delete()
    except IntegrityError as exc:
        raise ConnectRefused(
            f"{tenant.name} is already connected to another CashFlow organisation. Disconnect it there first."
        ) from exc
    return connection


def release_unpicked(provider: str, organisation_id: str, tokens: TokenSet, tenants: list[Tenant]) -> None:
    """Remove the ledger connections the user authorised but did not pick: a ledger may count every
    connection against the app's tier. A tenant another organisation here is live on
    is left alone; failures are logged, never shown: the connect itself succeeded."""
    live = set(
        Connection.objects.filter(provider=provider, tenant_id__in=[t.id for t in tenants])
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .values_list("tenant_id", flat=True)
    )
    oauth = oauth_for(provider, organisation_id)
    for tenant in tenants:
        if tenant.id in live or not tenant.connection_id:
            continue
        try:
            oauth.disconnect(tokens.access_token, tenant.connection_id, refresh_token="")
        except LedgerError as exc:
            logger.warning("could not release unpicked %s tenant connection: %s", provider, exc.code)


# --- Disconnect ------------------------------------------------------------------------------------------


def disconnect(connection: Connection) -> str:
    """Disconnect at the ledger (remove the tenant connection, revoke the tokens), then here: status
    disconnected, tokens erased; history and mappings stay. Returns a note for the user when the ledger
    could not be reached (the local disconnect happens regardless)."""
    note = ""
    try:
        fresh = ensure_fresh_token(connection.pk)
        oauth_for(fresh.provider, fresh.organisation_id).disconnect(
            fresh.access_token, fresh.remote_connection_id, fresh.refresh_token
        )
    except LedgerError as exc:
        note = (
            f"{connection.get_provider_display()} could not be told ({exc.message}); remove LedgerLink "
            "under its connected apps if it is still listed."
        )
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        row.status = ConnectionStatus.DISCONNECTED
        row.disconnected_at = timezone.now()
        row.access_token = ""
        row.refresh_token = ""
        row.last_error = note
        row.save(update_fields=["status", "disconnected_at", "access_token", "refresh_token", "last_error"])
    return note


def confirm_grant(connection: Connection) -> bool:
    """Whether the ledger still honours the connection's grant, asked by reloading its chart (the reads the
    next sync needs anyway, and the call a ledger refuses once its user disconnected us). A refusal marks
    the connection needs_reconnect; any other failure changes nothing and answers True: not knowing is not
    a disconnection, and the next sync asks again."""
    if connection.status != ConnectionStatus.ACTIVE:
        return False  # already waiting for a reconnect, or disconnected here: no grant to ask about
    try:
        refresh_chart(connection)
    except Reconnect as exc:
        mark_needs_reconnect(connection, exc.message)
        return False
    except LedgerError as exc:
        logger.warning("grant check of connection %s failed: %s", connection.pk, exc.kind)
    return True


def mark_needs_reconnect(connection: Connection, message: str) -> None:
    """The grant is gone: the user must sign in to the ledger again. Saved as a model save, so the sync
    engine's post_save receiver holds the connection's records paused (history and mappings untouched)."""
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        if row.status != ConnectionStatus.ACTIVE:
            return  # already marked, or disconnected here
        row.status = ConnectionStatus.NEEDS_RECONNECT
        row.last_error = message
        row.save(update_fields=["status", "last_error"])


def purge_expired_states() -> int:
    """Delete OAuth states past their 10 minutes (they may hold tokens of an abandoned tenant choice)."""
    deleted, _ = OAuthState.objects.filter(created_at__lt=timezone.now() - OAUTH_STATE_TTL).delete()
    return deleted
