"""The connector subscription and its records: terms acceptances, enabled spans, monthly invoices, API usage.

Dates here (`enabled_on`, `cancelled_on`, `period_start`, ...) are the organisation's local dates (its IANA
`time_zone`); instants (`accepted_at`, `issued_at`, ...) are UTC. Money is integer minor units. Only
`ledgerlink.billing.services` and `ledgerlink.billing.scheduler` change these rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledgerlink.billing import rules
from ledgerlink.cashflow.models import ApiKey, Organisation


class SubscriptionStatus(models.TextChoices):
    TRIAL = "trial", "Free trial"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Subscription(models.Model):
    """One per organisation, created by the first enable and never deleted: its `enabled_on` anchors the one
    trial the organisation ever gets. Price and currency are those of the latest accepted terms."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="connector_subscription"
    )
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices)
    currency = models.CharField(max_length=3)
    price_minor = models.PositiveIntegerField()
    enabled_on = models.DateField(help_text="First enable, local date: the trial starts here")
    trial_ends_on = models.DateField()
    first_billing_date = models.DateField()
    cancelled_on = models.DateField(null=True, blank=True, help_text="Set while cancelled")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.status}"

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_minor) / rules.MINOR_UNITS

    @property
    def is_enabled(self) -> bool:
        return self.status != SubscriptionStatus.CANCELLED


class TermsAcceptance(models.Model):
    """An administrator agreeing to the pricing terms: who, when, which price and terms version, from where.
    The acceptance that started the trial is flagged; the database allows one such row per organisation."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="terms_acceptances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="terms_acceptances"
    )
    # Kept as text too, so the record still says who agreed after the user account is gone.
    user_email = models.EmailField(max_length=254, blank=True)
    accepted_at = models.DateTimeField()
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    terms_version = models.CharField(max_length=40)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    starts_trial = models.BooleanField(default=False)

    class Meta:
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=Q(starts_trial=True), name="billing_one_trial_ever"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_email} accepted {self.terms_version} at {self.accepted_at:%Y-%m-%d %H:%M}"

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_minor) / rules.MINOR_UNITS


class Enablement(models.Model):
    """One enabled span: from an acceptance until a cancellation (open while `cancelled_on` is null).
    The scheduler bills each 1st from `billing_from` that began while the span was open; `next_bill_on` is
    its cursor (a hint for speed: the unique invoice key, not the cursor, prevents double billing)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="enablements")
    acceptance = models.OneToOneField(TermsAcceptance, on_delete=models.PROTECT, related_name="enablement")
    enabled_on = models.DateField()
    billing_from = models.DateField()
    next_bill_on = models.DateField()
    cancelled_on = models.DateField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["enabled_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(cancelled_on__isnull=True), name="billing_one_open_span"
            ),
        ]
        indexes = [models.Index(fields=["next_bill_on"], name="billing_span_next_bill")]

    def __str__(self) -> str:
        return f"{self.subscription_id} from {self.enabled_on} to {self.cancelled_on or 'now'}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    FAILED = "failed", "Payment failed"
    VOID = "void", "Void"


class BillingInvoice(models.Model):
    """LedgerLink's monthly invoice to an organisation for the connector. (organisation, period_start) is
    unique: a month can never be billed twice, whatever runs the scheduler and however often."""

    number = models.CharField(max_length=20, unique=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="billing_invoices")
    enablement = models.ForeignKey(Enablement, on_delete=models.PROTECT, related_name="invoices")
    period_start = models.DateField()
    period_end = models.DateField()
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    issued_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    # A sender claims unsent emails with its own token until a lease; a crashed sender's claim lapses and a
    # later run retries.
    email_claim = models.UUIDField(null=True, blank=True)
    email_claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "period_start"], name="billing_one_invoice_a_month"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="billing_period"
            ),
        ]
        indexes = [
            models.Index(fields=["emailed_at"], condition=Q(emailed_at__isnull=True), name="billing_unsent")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_minor) / rules.MINOR_UNITS


class InvoiceSequence(models.Model):
    """The last invoice number used in a year. Taken under the row lock inside the invoice's own transaction,
    so a rolled-back invoice gives its number back and the numbers have no gaps."""

    year = models.PositiveSmallIntegerField(unique=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_value}"


class UsageKind(models.TextChoices):
    API = "api", "API call (standard)"
    LEDGER_CALL = "ledger_call", "Connector call to a ledger"
    OAUTH_CALLBACK = "oauth_callback", "Ledger OAuth callback"


class ApiUsage(models.Model):
    """A monthly counter: standard API calls per key, and the connector's exempt traffic per kind. One row per
    (organisation, month, key, kind), incremented in place, never a row per request."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_usage")
    month = models.DateField(help_text="The 1st of the local month counted")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="usage")
    kind = models.CharField(max_length=20, choices=UsageKind.choices)
    provider = models.CharField(max_length=20, blank=True, help_text="For ledger traffic: the provider's key")
    exempt = models.BooleanField()
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # Two partial indexes, because NULLs are distinct in a plain unique index.
            models.UniqueConstraint(
                fields=["organisation", "month", "api_key", "kind", "provider"],
                condition=Q(api_key__isnull=False),
                name="billing_usage_keyed",
            ),
            models.UniqueConstraint(
                fields=["organisation", "month", "kind", "provider"],
                condition=Q(api_key__isnull=True),
                name="billing_usage_unkeyed",
            ),
            models.CheckConstraint(
                condition=Q(kind=UsageKind.API, exempt=False) | (~Q(kind=UsageKind.API) & Q(exempt=True)),
                name="billing_usage_exempt_is_connector",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m} {self.kind} {self.calls}"
