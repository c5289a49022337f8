"""The reliability campaign (`make chaos`, issue 22): both ledgers' sandboxes, PostgreSQL, Redis and several
consumers under injected faults and kills, then an independent check of every ledger against CashFlow."""
