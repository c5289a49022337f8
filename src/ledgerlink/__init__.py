"""LedgerLink: keeps accounting ledgers in step with CashFlow (which ones: ledgers/providers.py)."""
