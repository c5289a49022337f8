"""The campaign's world: both sandboxes as separate processes and organisations on each, connected the way
a user connects (the ledgers' own connect and callback views, OAuth with state and PKCE against the
sandbox) and mapped from the ledgers' suggestion, as the end-to-end tests do (tests/sync/ledger_world.py)."""

from __future__ import annotations

import random
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .env import ROOT

sys.path.insert(0, str(ROOT / "tests"))  # the shared harnesses, as tests import them (tests/ is no package)

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from ledgers.conftest import connect_through_views, enable_connector
from ledgers.harness import XeroHarness
from ledgers.quickbooks.harness import QuickBooksHarness
from sync.steps import map_from_suggestion

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import Customer, Membership, Organisation, Role, TaxRate
from ledgerlink.devtools.sandboxes import RunningSandbox, start_sandbox
from ledgerlink.ledgers.models import Connection

PROVIDERS = ("xero", "quickbooks")
HARNESS = {"xero": XeroHarness, "quickbooks": QuickBooksHarness}
# Xero keeps an Idempotency-Key 6 minutes of its time; under a time scale the sandbox is told the same
# 6 minutes of real time, which is what the engine assumes (sync/policy.py).
XERO_KEY_LIFE_REAL_S = 360.0
# What the consumers and the web service must know of each ledger (the OAuth apps are the campaign's).
LEDGER_SETTINGS = (
    "XERO_AUTHORIZE_URL",
    "XERO_API_URL",
    "XERO_IDENTITY_URL",
    "XERO_CLIENT_ID",
    "XERO_CLIENT_SECRET",
    "QBO_AUTHORIZE_URL",
    "QBO_API_URL",
    "QBO_TOKEN_URL",
    "QBO_REVOKE_URL",
    "QBO_CLIENT_ID",
    "QBO_CLIENT_SECRET",
)


@dataclass
class Org:
    provider: str
    organisation: Organisation
    tenant_id: str
    connection: Connection
    gst: TaxRate
    customers: list[Customer]
    api_key: str = ""


@dataclass
class World:
    sandboxes: dict[str, RunningSandbox]
    harnesses: dict[str, Any]
    orgs: list[Org] = field(default_factory=list)

    def ledger_settings(self) -> dict[str, str]:
        return {name: str(getattr(settings, name)) for name in LEDGER_SETTINGS}

    def of(self, provider: str) -> list[Org]:
        return [org for org in self.orgs if org.provider == provider]

    def stop(self) -> None:
        for sandbox in self.sandboxes.values():
            sandbox.stop()


def start_sandboxes(time_scale: float) -> World:
    """Each sandbox a process of its own, at the campaign's time scale; fresh OAuth apps, pointed at."""
    xero_life = str(XERO_KEY_LIFE_REAL_S * time_scale)
    sandboxes = {
        "xero": start_sandbox(
            "xero", time_scale=time_scale, extra_args=["--idempotency-retention", xero_life]
        ),
        "quickbooks": start_sandbox("quickbooks", time_scale=time_scale),
    }
    harnesses = {provider: HARNESS[provider](sandboxes[provider]) for provider in PROVIDERS}
    for harness in harnesses.values():
        harness.configure(settings)
    return World(sandboxes, harnesses)


def _customers(organisation: Organisation, index: int, count: int, rng: random.Random) -> list[Customer]:
    """Customers of one installer; two share a name (different people, different emails), which a ledger
    that keys contacts by name must still keep apart without doubling either."""
    made = []
    for n in range(count):
        name = f"Homeowner {index:02d}-{n:03d}" if n != 1 else f"Homeowner {index:02d}-000"
        city = rng.choice(("Sydney", "Melbourne", "Brisbane", "Perth", "Hobart"))
        email = f"owner-{index:02d}-{n:03d}@example.com"
        made.append(
            services.create_customer(organisation, services.CustomerInput(name=name, email=email, city=city))
        )
    return made


def add_organisation(world: World, provider: str, index: int, customers: int, rng: random.Random) -> Org:
    """An AU installer with GST 10%, connected by its administrator through the views and mapped."""
    harness = world.harnesses[provider]
    name = f"Chaos Solar {index:02d} Pty Ltd"
    organisation = services.create_organisation(name, "AU")
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    user = get_user_model().objects.create_user(f"chaos-admin-{uuid.uuid4().hex[:10]}", password="x" * 16)
    Membership.objects.create(user=user, organisation=organisation, role=Role.ADMIN)
    enable_connector(organisation, user)
    browser = Client()
    browser.force_login(user)
    tenant_id = harness.new_tenant(name)
    back = connect_through_views(browser, harness, organisation, [tenant_id])
    if back.status_code not in (200, 302):
        raise RuntimeError(f"connecting {name} to {provider} failed: {back.status_code}")
    connection = Connection.objects.get(organisation=organisation, tenant_id=tenant_id)
    map_from_suggestion(connection, gst)
    org = Org(
        provider, organisation, tenant_id, connection, gst, _customers(organisation, index, customers, rng)
    )
    org.api_key = apikeys.create_api_key(organisation, "soak")[1]
    world.orgs.append(org)
    return org
