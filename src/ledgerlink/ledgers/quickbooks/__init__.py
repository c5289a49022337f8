"""The QuickBooks Online connector. What the rest of the product may know without loading it is `INFO`."""

from ledgerlink.ledgers.contract import ProviderInfo

INFO = ProviderInfo(key="quickbooks", display_name="QuickBooks Online")
