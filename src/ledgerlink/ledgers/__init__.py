"""Ledgers: connections, OAuth, the chart cache, mappings, pre-flight, preview, and one connector per ledger.

What the sync engine uses (it owns the loop; a ledger fills in steps, see contract.Ledger):

    connection = tokens.ensure_fresh_token(connection_id)          # row lock; Reconnect / Retry
    ledger = registry.open_ledger(connection)                      # the provider's Ledger.for_connection(...)
    mapping = mappings.resolve_mapping(organisation, provider)     # contract.ResolvedMapping
    problems = validation.document_problems(document, mapping, charts.chart_for(connection), labels)
    resolution = ledger.resolve_customers(customer_items)          # email match before create
    for request in ledger.build(items, mapping):                   # <= ledger.max_batch items each
        outcomes = ledger.read(ledger.send(request, key), request) # key from record ids + request.step

`send` raises a LedgerError for a whole-request failure; `read` gives one ItemOutcome per item (done=False
plus extra_ids for multi-step operations). After Conflict or an UnknownOutcome older than the ledger's key
lifetime, `ledger.find_existing(item)`. `charts.refresh_chart(connection)` reloads the chart (daily).
Signals for other apps: `signals.ledger_call_made`, `signals.connect_requested` (+ `ConnectBlocked`).
"""
