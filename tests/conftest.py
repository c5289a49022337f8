"""Shared fixtures. Each area's own fixtures live beside its tests; fixtures used across areas live here."""

import pytest

from ledgerlink.devtools import smtp_sink


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port for the whole session; `.messages` collects
    what it receives. Use `smtp_outbox` in a test to point Django's SMTP backend at it."""
    controller, sink = smtp_sink.start()
    yield controller, sink
    controller.stop()


@pytest.fixture
def smtp_outbox(smtp_server, settings):
    """The session's SMTP server with an empty message list, and Django's SMTP backend pointed at it
    (pytest-django otherwise swaps in the locmem backend). Returns the list of received messages."""
    controller, sink = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    sink.messages.clear()
    return sink.messages


@pytest.fixture(scope="session")
def xero_sandbox():
    """A real Xero sandbox subprocess (`ledgerlink sandbox xero`) on a free loopback port for the session
    (one per xdist worker). `.base_url` is its root (Accounting API at `.base_url + "/api.xro/2.0"`,
    token endpoint at `/connect/token`, connections at `/connections`); `.control` is a
    `ledgerlink.devtools.sandboxes.SandboxControl`. Tests share it: create your own app and tenants rather
    than calling `.control.reset()`, and clear any faults you set."""
    from ledgerlink.devtools.sandboxes import start_sandbox

    sandbox = start_sandbox("xero")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def quickbooks_sandbox():
    """A real QuickBooks Online sandbox subprocess (`ledgerlink sandbox quickbooks`) on a free loopback port
    for the session (one per xdist worker). `.base_url` is its root: the Accounting API at
    `.base_url + "/v3/company/{realmId}"`, the discovery document at `/.well-known/openid_configuration`;
    `.control` is a `SandboxControl` whose tenants are companies (`create_company` returns a realmId).
    Shared like `xero_sandbox`: create your own app and companies, and clear any faults you set."""
    from ledgerlink.devtools.sandboxes import start_sandbox

    sandbox = start_sandbox("quickbooks")
    yield sandbox
    sandbox.stop()
