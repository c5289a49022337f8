"""A local QuickBooks Online: Intuit OAuth and the Accounting API at their real paths (issue 17)."""
