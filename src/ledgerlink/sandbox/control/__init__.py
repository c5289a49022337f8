"""The provider-neutral control plane shared by every sandbox: clock, tenants, OAuth grants, rate limits,
idempotency, fault switches, the HTTP server and the /_sandbox control API. Nothing here knows a wire format;
each provider package renders what the control plane decides."""
