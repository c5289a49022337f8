"""Support staff's view of billing: everything read-only except an invoice's status (paid, failed, void),
which is set by whoever collects the payment."""

from django.contrib import admin

from ledgerlink.billing.models import ApiUsage, BillingInvoice, Subscription, TermsAcceptance


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        editable = set(getattr(self, "editable_fields", ()))
        return [field.name for field in self.model._meta.fields if field.name not in editable]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "status", "currency", "enabled_on", "first_billing_date", "cancelled_on"]
    list_filter = ["status", "currency"]


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "user_email", "accepted_at", "terms_version", "currency", "ip_address"]


@admin.register(BillingInvoice)
class BillingInvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "organisation", "period_start", "amount", "currency", "status", "emailed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number"]
    editable_fields = ["status"]


@admin.register(ApiUsage)
class ApiUsageAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "month", "kind", "provider", "api_key", "calls"]
    list_filter = ["kind", "exempt"]
