"""The sync engine: outbox records, workers, rate limits, retries, historical pushes, the audit log."""
