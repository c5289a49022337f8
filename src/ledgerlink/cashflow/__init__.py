"""CashFlow's records (organisations, customers, invoices, payments) and the JSON API CashFlow calls."""
