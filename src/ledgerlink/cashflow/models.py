"""CashFlow's records: organisations and their people, customers, projects, tax rates, invoices and their
lines, payments and their reversals, credit notes, and the domain events the sync engine consumes.

Money is stored as integer minor units (`*_minor`); each money field has a `Decimal` property beside it.
Only `ledgerlink.cashflow.services` changes state; everything here is shape, constraints and reads.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledgerlink.cashflow.money import from_minor, from_unit_e4


class Country(models.TextChoices):
    AU = "AU", "Australia"
    US = "US", "United States"
    GB = "GB", "United Kingdom"
    NZ = "NZ", "New Zealand"


class Currency(models.TextChoices):
    AUD = "AUD", "Australian dollar"
    USD = "USD", "US dollar"
    GBP = "GBP", "Pound sterling"
    NZD = "NZD", "New Zealand dollar"


class Organisation(models.Model):
    """An installer business. It invoices in its home currency only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, choices=Country.choices)
    home_currency = models.CharField(max_length=3, choices=Currency.choices)
    time_zone = models.CharField(max_length=64, help_text="IANA name, e.g. Australia/Sydney")
    accounting_email = models.EmailField(blank=True, help_text="Where connector notices and recaps go")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def uses_currency(self, code: str) -> bool:
        """True when the organisation invoices in `code` (today: its home currency only)."""
        return code == self.home_currency


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    MEMBER = "member", "Member"


class Membership(models.Model):
    """A user's place in an organisation. Only admins may enable a connector or map accounts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="cashflow_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class SignInThrottle(models.Model):
    """Failed sign-ins of one username from one address (`key`: a digest of both, so no password guess or
    address is stored in clear). In the database so every process sees the same count."""

    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key[:12]} {self.failures}"


class ApiKey(models.Model):
    """An organisation's API key. Only the SHA-256 of the key is kept; `prefix` finds the row."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, help_text="sha256 hex of the whole key")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Customer(models.Model):
    """Someone an installer invoices. Ledgers match contacts by email (cashflow.md, Customers)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=255)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=50, blank=True)
    address_line1 = models.CharField(max_length=255, blank=True)
    address_line2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organisation", "email"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Project(models.Model):
    """A solar installation at a site; milestone invoices belong to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="projects")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=255)
    site_address = models.CharField(max_length=500, blank=True)
    system_size_kw = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TaxRate(models.Model):
    """A CashFlow tax rate ("GST 10%"): the key the ledger mapping hangs on. `rate` is a percentage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=100)
    rate = models.DecimalField(max_digits=7, decimal_places=4, help_text="Percent, e.g. 10.0000")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="cashflow_taxrate_name_unique"),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="cashflow_taxrate_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class NumberSequence(models.Model):
    """The next number of a document kind in one organisation. Allocation locks this row
    (select_for_update) so two concurrent issues never get the same number, and a number is never reused."""

    class Kind(models.TextChoices):
        INVOICE = "invoice"
        CREDIT_NOTE = "credit_note"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sequences")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind"], name="cashflow_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.kind} next {self.next_value}"


class InvoiceKind(models.TextChoices):
    MILESTONE = "milestone", "Milestone invoice"
    CUSTOM = "custom", "Custom invoice"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PART_PAID = "part_paid", "Part paid"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class Invoice(models.Model):
    """An invoice. The number is allocated when it is issued (drafts have none), never changes and is never
    reused. Totals are derived from the lines by `money.invoice_totals` and stored; never negative."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    number = models.CharField(max_length=20, blank=True, help_text="INV-00001; empty while a draft")
    kind = models.CharField(max_length=10, choices=InvoiceKind.choices)
    milestone_title = models.CharField(max_length=255, blank=True)
    issue_date = models.DateField(null=True, blank=True, help_text="Set when issued, if not given")
    due_date = models.DateField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    tax_inclusive = models.BooleanField()
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    subtotal_minor = models.BigIntegerField(default=0, help_text="Excluding tax")
    tax_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    amount_paid_minor = models.BigIntegerField(default=0, help_text="Payments less their reversals")
    amount_credited_minor = models.BigIntegerField(default=0, help_text="Credit notes against it")
    reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"],
                condition=~Q(number=""),
                name="cashflow_invoice_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(total_minor__gte=0), name="cashflow_invoice_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid_minor__gte=0), name="cashflow_invoice_paid_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid_minor__lte=models.F("total_minor")),
                name="cashflow_invoice_not_overpaid",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"]),
            models.Index(fields=["organisation", "issue_date"]),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.id}"

    subtotal = property(lambda self: from_minor(self.subtotal_minor))
    tax = property(lambda self: from_minor(self.tax_minor))
    total = property(lambda self: from_minor(self.total_minor))
    amount_paid = property(lambda self: from_minor(self.amount_paid_minor))
    amount_credited = property(lambda self: from_minor(self.amount_credited_minor))

    @property
    def amount_due_minor(self) -> int:
        """What the customer still owes: nothing on a draft or a cancelled invoice."""
        if self.status in (InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED):
            return 0
        return self.total_minor - self.amount_paid_minor

    @property
    def amount_due(self) -> Decimal:
        return from_minor(self.amount_due_minor)


class LineType(models.TextChoices):
    """cashflow.md, "Line item types"; `LINE_SIGNS` below holds each type's allowed sign."""

    MILESTONE = "milestone", "Milestone"
    SYSTEM = "system", "System"
    ADDER = "adder", "Adder"
    DISCOUNT = "discount", "Discount"
    INCENTIVE = "incentive", "Incentive"
    SURCHARGE = "surcharge", "Surcharge"
    FEE = "fee", "Fee"
    SERVICE = "service", "Service"
    PRODUCT = "product", "Product"


# +1: the line amount may not be negative; -1: may not be positive; 0: either sign (cashflow.md table).
LINE_SIGNS: dict[str, int] = {
    LineType.MILESTONE: 1,
    LineType.SYSTEM: 1,
    LineType.ADDER: 0,
    LineType.DISCOUNT: -1,
    LineType.INCENTIVE: -1,
    LineType.SURCHARGE: 1,
    LineType.FEE: 1,
    LineType.SERVICE: 1,
    LineType.PRODUCT: 1,
}


class InvoiceLine(models.Model):
    """One line. `unit_amount_e4` (ten-thousandths: a price per watt has four places) and
    `line_amount_minor` are in the invoice's tax mode (inclusive or exclusive); `tax_minor` is this line's
    tax, rounded to the cent half-up."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    line_type = models.CharField(max_length=12, choices=LineType.choices)
    description = models.CharField(max_length=1000)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    unit_amount_e4 = models.BigIntegerField(help_text="The unit amount in ten-thousandths (0.0275 -> 275)")
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="lines")
    tax_rate_percent = models.DecimalField(
        max_digits=7, decimal_places=4, help_text="The rate when the line was written"
    )
    line_amount_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="cashflow_line_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.description}"

    unit_amount = property(lambda self: from_unit_e4(self.unit_amount_e4))
    line_amount = property(lambda self: from_minor(self.line_amount_minor))
    tax = property(lambda self: from_minor(self.tax_minor))


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer / ACH"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    FINANCE = "finance", "Finance"


# Recorded by hand by the installer (cashflow.md, Payments): only these can be "undone".
OFFLINE_METHODS = frozenset({PaymentMethod.CASH, PaymentMethod.CHEQUE})


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    CHARGED_BACK = "charged_back", "Charged back"
    UNDONE = "undone", "Undone"


class Payment(models.Model):
    """Money received against one invoice. `reversed_minor` sums its refunds, chargeback and undo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="payments")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    received_on = models.DateField()
    reference = models.CharField(max_length=255, blank=True)
    reversed_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="cashflow_payment_positive"),
            models.CheckConstraint(
                condition=Q(reversed_minor__gte=0) & Q(reversed_minor__lte=models.F("amount_minor")),
                name="cashflow_payment_reversal_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} on {self.received_on}"

    amount = property(lambda self: from_minor(self.amount_minor))
    reversed_amount = property(lambda self: from_minor(self.reversed_minor))

    @property
    def offline(self) -> bool:
        return self.method in OFFLINE_METHODS

    @property
    def remaining_minor(self) -> int:
        """What is still held of this payment after its reversals."""
        return self.amount_minor - self.reversed_minor

    @property
    def remaining(self) -> Decimal:
        return from_minor(self.remaining_minor)


class ReversalKind(models.TextChoices):
    REFUND = "refund", "Refund"
    CHARGEBACK = "chargeback", "Chargeback"
    UNDO = "undo", "Offline payment undone"


class PaymentReversal(models.Model):
    """Money taken back from a payment: a refund (part or full), a chargeback, or an offline undo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="payment_reversals")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="reversals")
    kind = models.CharField(max_length=12, choices=ReversalKind.choices)
    amount_minor = models.BigIntegerField()
    occurred_on = models.DateField()
    reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="cashflow_reversal_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"

    amount = property(lambda self: from_minor(self.amount_minor))


class CreditNote(models.Model):
    """Balances a cancelled invoice to zero: it covers what was unpaid at cancellation, and later, any
    payment money reversed after cancellation (so the ledger's invoice stays at zero due)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="credit_notes")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=20, help_text="CN-00001")
    amount_minor = models.BigIntegerField()
    issued_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="cashflow_creditnote_number_unique"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="cashflow_creditnote_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    amount = property(lambda self: from_minor(self.amount_minor))


class EventKind(models.TextChoices):
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_CANCELLED = "invoice.cancelled"
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_CHARGED_BACK = "payment.charged_back"
    PAYMENT_UNDONE = "payment.undone"


class DomainEvent(models.Model):
    """An append-only outbox row written in the same transaction as the change it records (see events.py).

    `id` increases with insertion, but on PostgreSQL concurrent transactions may commit out of id order:
    consumers must not treat "the highest id seen" as a watermark without a grace window."""

    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    subject_type = models.CharField(max_length=32, help_text="invoice | payment_reversal | payment")
    subject_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["organisation", "id"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.subject_type}:{self.subject_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, per organisation. The unique constraint is
    what stops two concurrent requests with one key from both running."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and canonical body")
    # Written as 0 / {} when the request starts (claiming the key), filled in before the transaction commits.
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "key"], name="cashflow_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.status_code}"
