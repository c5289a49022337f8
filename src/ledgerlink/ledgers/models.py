"""Connections to ledgers, the OAuth flow's short-lived state, the cached chart, and the mappings.

Mappings are keyed by organisation + provider, not by connection, so a disconnect and reconnect (or a
needs_reconnect repair) keeps everything the user mapped.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ledgerlink.crypto import EncryptedTextField
from ledgerlink.ledgers.providers import CHOICES as PROVIDER_CHOICES

OAUTH_STATE_TTL = dt.timedelta(minutes=10)


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
    DISCONNECTED = "disconnected", "Disconnected"


class Connection(models.Model):
    """One organisation's link to one ledger tenant. Rows are never deleted: a disconnected connection keeps
    its history; a new connect makes a new row (or revives a needs_reconnect one)."""

    organisation = models.ForeignKey(
        "cashflow.Organisation", on_delete=models.PROTECT, related_name="ledger_connections"
    )
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES)
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    tenant_id = models.CharField(max_length=64, help_text="The ledger's id for the books")
    tenant_name = models.CharField(max_length=255, blank=True)
    remote_connection_id = models.CharField(
        max_length=64, blank=True, help_text="The ledger's id for the link, if any"
    )
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_issued_at = models.DateTimeField(
        null=True, blank=True, help_text="Keep-alive refreshes long before the ledger's idle expiry"
    )
    scopes = models.CharField(max_length=500, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="A plain sentence for the user; never a raw body")

    class Meta:
        constraints = [
            # cashflow.md: one accounting organisation per CashFlow organisation at a time.
            models.UniqueConstraint(
                fields=["organisation"],
                condition=~Q(status="disconnected"),
                name="ledgers_one_live_connection_per_organisation",
            ),
            # ...and one CashFlow organisation per ledger tenant: two would push clashing INV numbers.
            models.UniqueConstraint(
                fields=["provider", "tenant_id"],
                condition=~Q(status="disconnected"),
                name="ledgers_one_live_connection_per_tenant",
            ),
        ]
        indexes = [models.Index(fields=["status", "refresh_token_issued_at"])]

    def __str__(self) -> str:
        return f"{self.provider}:{self.tenant_name or self.tenant_id} ({self.status})"


class OAuthState(models.Model):
    """One authorisation attempt: single use, bound to the browser session that started it, 10 minutes.
    Between the code exchange and the tenant choice it holds the new tokens (encrypted)."""

    state = models.CharField(max_length=64, unique=True)
    code_verifier = EncryptedTextField()
    session_binding = models.CharField(max_length=64, help_text="sha256 of a nonce kept in the session")
    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)
    # Filled by the callback when the user must pick a tenant.
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True)
    tenants = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} state for {self.organisation_id}"

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.created_at + OAUTH_STATE_TTL


class ChartSnapshot(models.Model):
    """The ledger's accounts, tax rates and tracking categories as last loaded (contract.Chart as JSON)."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="chart")
    accounts = models.JSONField(default=list)
    tax_rates = models.JSONField(default=list)
    tracking = models.JSONField(default=list)
    currencies = models.JSONField(default=list)
    loaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"chart of {self.connection_id} at {self.loaded_at:%Y-%m-%d %H:%M}"


class MappingBase(models.Model):
    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES)
    account_id = models.CharField(max_length=64)
    account_code = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TaxRateMapping(MappingBase):
    """A CashFlow tax rate → the revenue account its lines go to, and the ledger's tax code."""

    tax_rate = models.ForeignKey("cashflow.TaxRate", on_delete=models.CASCADE, related_name="+")
    ledger_tax_code = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "tax_rate"], name="ledgers_taxrate_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tax_rate_id} -> {self.account_code or self.account_id} / {self.ledger_tax_code}"


class LineTypeMapping(MappingBase):
    """A line type (cashflow LineType) → its own revenue account, overriding the tax rate's account."""

    line_type = models.CharField(max_length=12)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "line_type"], name="ledgers_linetype_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_type} -> {self.account_code or self.account_id}"


class PaymentAccountMapping(MappingBase):
    """A payment method → the bank or clearing account it lands in; one row per organisation and provider
    may be the default, used for methods without their own row."""

    method = models.CharField(max_length=16, blank=True, help_text="Empty on the default-only row")
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider", "method"],
                condition=~Q(method=""),
                name="ledgers_payment_mapping_unique",
            ),
            models.UniqueConstraint(
                fields=["organisation", "provider"],
                condition=Q(is_default=True),
                name="ledgers_payment_mapping_one_default",
            ),
            models.CheckConstraint(
                condition=~Q(method="") | Q(is_default=True), name="ledgers_payment_mapping_has_method"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method or 'default'} -> {self.account_code or self.account_id}"


class TrackingMapping(models.Model):
    """Optional: the ledger tracking category that carries projects, and each project's option."""

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES)
    category_id = models.CharField(max_length=64)
    category_name = models.CharField(max_length=100)
    project_options = models.JSONField(default=dict, blank=True, help_text="project id -> option name")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "provider"], name="ledgers_tracking_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"projects -> {self.category_name}"
