"""The local Xero: identity (authorize, token, revocation, connections) and the Accounting API under
/api.xro/2.0, in Xero's wire format (xero.md §10)."""
