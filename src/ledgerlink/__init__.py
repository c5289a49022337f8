"""LedgerLink: keeps Xero and QuickBooks Online in step with CashFlow."""
