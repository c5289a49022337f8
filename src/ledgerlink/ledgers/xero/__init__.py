"""The Xero connector. What the rest of the product may know without loading it is `INFO`."""

from ledgerlink.ledgers.contract import ProviderInfo

INFO = ProviderInfo(key="xero", display_name="Xero")
