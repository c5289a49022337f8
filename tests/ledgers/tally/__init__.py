"""Tally: a test-only second ledger (its sandbox, connector and harness all live here). It differs from Xero
wherever a ledger may: its own wire, batches of 7, tighter limits, 503/423 for a busy or locked book instead
of 429, one-step refunds and credits. It proves the contract and the engine are provider-neutral: adding it
touched nothing outside this folder but the harness list."""
