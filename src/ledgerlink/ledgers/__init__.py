"""The provider-neutral ledger contract, connections, chart caches and mappings; one folder per ledger."""
