"""The web tests' world: an installer organisation with an admin and a member, and the Xero sandbox set
up as its ledger (a fresh OAuth app per test)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership, Role

from .world import PASSWORD


@pytest.fixture
def xero_app(settings, xero_sandbox):
    app = xero_sandbox.control.create_app([f"{settings.PUBLIC_URL}/connections/xero/callback/"])
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = xero_sandbox.base_url
    settings.XERO_AUTHORIZE_URL = f"{xero_sandbox.base_url}/identity/connect/authorize"
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = app.client_id, app.client_secret
    return app


@pytest.fixture
def installer():
    organisation = services.create_organisation(
        "Bright Roofs Solar", "AU", accounting_email="books@bright.example"
    )
    gst = services.create_tax_rate(organisation, "GST 10%", Decimal("10"))
    free = services.create_tax_rate(organisation, "GST free", Decimal("0"))
    users = get_user_model()
    admin = users.objects.create_user("alex", password=PASSWORD)
    member = users.objects.create_user("sam", password=PASSWORD)
    Membership.objects.create(user=admin, organisation=organisation, role=Role.ADMIN)
    Membership.objects.create(user=member, organisation=organisation, role=Role.MEMBER)
    return organisation, gst, free, admin, member
