"""What the notices app keeps: each organisation's notice settings, who opted in or out, and the log of every
notice (one row per incident or per local day) with one delivery row per recipient.

The log is also the lock: a notice's (organisation, kind, key) is unique, a sender claims the row before
sending and records each delivery right after it, so a second scheduler or a restarted one never sends the
same recap twice on one local day (docs/notices.md, "Exactly once")."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone


class NoticeKind(models.TextChoices):
    RECAP = "recap", "Daily recap of invoices waiting for a setting"
    RECONNECT = "reconnect", "Ledger connection needs reconnecting"
    TOKEN_EXPIRING = "token_expiring", "Ledger sign-in about to expire"
    TRIAL_ENDING = "trial_ending", "Free trial ending"
    INVOICE_OVERDUE = "invoice_overdue", "Connector invoice overdue"


DEFAULT_RECAP_HOUR = 8


class NoticeSettings(models.Model):
    """Per organisation: the local hour the recap goes out. The accounting contact is the organisation's own
    `accounting_email` (billing mails it too), edited on the same page."""

    organisation = models.OneToOneField(
        "cashflow.Organisation", on_delete=models.CASCADE, related_name="notice_settings"
    )
    recap_hour = models.PositiveSmallIntegerField(
        default=DEFAULT_RECAP_HOUR, validators=[MaxValueValidator(23)], help_text="Local hour, 0-23"
    )

    def __str__(self) -> str:
        return f"{self.organisation_id} recap at {self.recap_hour}:00"


class OptIn(models.Model):
    """An administrator who asked for a kind of notice besides the accounting contact."""

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user", "kind"], name="notices_opt_in_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} wants {self.kind}"


class Unsubscribe(models.Model):
    """An address that asked (through the signed link in a notice) to stop getting one kind of notice from
    one organisation. Keyed by address, not user, because the accounting contact need not be a user."""

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "email", "kind"], name="notices_unsubscribe_once")
        ]

    def __str__(self) -> str:
        return f"{self.email} left {self.kind}"


class NoticeState(models.TextChoices):
    PENDING = "pending", "Sending"
    SENT = "sent", "Sent"
    NOTHING = "nothing", "Nothing to tell"
    NO_RECIPIENTS = "no_recipients", "Nobody to tell"


class Notice(models.Model):
    """One notice: a day's recap (key = the local date) or one incident (key names it). Unique per
    (organisation, kind, key): the database, not the scheduler, decides that it happens once."""

    organisation = models.ForeignKey("cashflow.Organisation", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    key = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=16, choices=NoticeState.choices, default=NoticeState.PENDING)
    # A sender holds the notice until `claimed_until`; a crashed sender's claim lapses and the next run
    # finishes the deliveries that were not recorded.
    claim = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind", "key"], name="notices_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} [{self.state}]"


class DeliveryStatus(models.TextChoices):
    DELIVERED = "delivered", "Accepted by the mail server"
    BOUNCED = "bounced", "Refused by the mail server"
    FAILED = "failed", "Could not be sent"


class Delivery(models.Model):
    """One recipient of one notice and what the SMTP server answered: the answer to "did we tell them?"."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField()
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    reply = models.CharField(max_length=500, blank=True, help_text="The SMTP server's answer, when refused")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["notice", "email"], name="notices_delivery_once")]

    def __str__(self) -> str:
        return f"{self.email}: {self.status}"
