"""The ledgers LedgerLink speaks, listed by hand (STYLE.md 1: no import-time discovery)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledgerlink.ledgers.contract import Ledger
from ledgerlink.ledgers.oauth import OAuthProvider
from ledgerlink.ledgers.quickbooks.ledger import QuickBooksLedger
from ledgerlink.ledgers.quickbooks.oauth import QuickBooksOAuth
from ledgerlink.ledgers.xero.ledger import XeroLedger
from ledgerlink.ledgers.xero.oauth import XeroOAuth

if TYPE_CHECKING:
    from ledgerlink.ledgers.models import Connection

LEDGERS: dict[str, type[Ledger]] = {"xero": XeroLedger, "quickbooks": QuickBooksLedger}
OAUTH_PROVIDERS: dict[str, type[OAuthProvider]] = {"xero": XeroOAuth, "quickbooks": QuickBooksOAuth}


def open_ledger(connection: Connection) -> Ledger:
    """The ledger for a connection whose access token is fresh (call `tokens.ensure_fresh_token` first)."""
    return LEDGERS[connection.provider].for_connection(connection)


def oauth_for(provider: str, organisation_id: object = "") -> OAuthProvider:
    return OAUTH_PROVIDERS[provider](str(organisation_id))
