"""The connector subscription: pricing acceptance, trial, monthly invoices, API usage metering."""
