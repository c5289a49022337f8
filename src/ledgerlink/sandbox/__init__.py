"""Local ledger servers that speak Xero's and QuickBooks' wire formats. A separate program: nothing here
imports the rest of ledgerlink."""
