"""What every part of the product may know about a ledger without loading its connector: its key, the name
its users know it by, and its Connect button. Each provider declares its own `INFO` in its package's
`__init__.py` (the connector code stays behind the registry); this list is the one place they are named,
and model choices, messages and buttons are built from it."""

from __future__ import annotations

from ledgerlink.ledgers.contract import ProviderInfo


def _declared() -> dict[str, ProviderInfo]:
    from ledgerlink.ledgers import quickbooks, xero

    return {info.key: info for info in (xero.INFO, quickbooks.INFO)}


PROVIDERS: dict[str, ProviderInfo] = _declared()
CHOICES: list[tuple[str, str]] = [(info.key, info.display_name) for info in PROVIDERS.values()]


def provider_name(key: str) -> str:
    """What users call a ledger; the key itself if unknown."""
    info = PROVIDERS.get(key)
    return info.display_name if info else key
