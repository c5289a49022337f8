"""The QuickBooks Online connector (its sandbox exists; the connector is the next issue)."""

from ledgerlink.ledgers.contract import ProviderInfo

INFO = ProviderInfo(key="quickbooks", display_name="QuickBooks Online")
