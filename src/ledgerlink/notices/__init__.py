"""Emails to the accounting contact: the daily failure recap and reconnect alerts."""
