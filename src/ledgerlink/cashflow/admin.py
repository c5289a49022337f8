"""Read-mostly admin views of CashFlow's records. Changes go through `services` (the API or the demo), so
documents and events are read-only here: editing an issued invoice or an event by hand would desynchronise
the ledgers."""

from __future__ import annotations

from django.contrib import admin

from ledgerlink.cashflow import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "home_currency", "time_zone", "accounting_email", "created_at")
    search_fields = ("name", "accounting_email")


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role")
    list_filter = ("role",)


@admin.register(models.ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("organisation", "name", "prefix", "created_at", "last_used_at", "revoked_at")


class InvoiceLineInline(admin.TabularInline):
    model = models.InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "line_type", "description", "quantity", "unit_amount", "line_amount", "tax")
    readonly_fields = fields


@admin.register(models.Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "organisation",
        "customer",
        "kind",
        "status",
        "issue_date",
        "total",
        "amount_due",
    )
    list_filter = ("status", "kind", "organisation")
    search_fields = ("number", "customer__name", "customer__email")
    inlines = [InvoiceLineInline]


@admin.register(models.Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("invoice", "method", "status", "amount", "remaining", "received_on")
    list_filter = ("method", "status")


@admin.register(models.DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "organisation", "kind", "subject_type", "subject_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("subject_id",)


for model in (models.Customer, models.Project, models.TaxRate, models.CreditNote, models.PaymentReversal):
    admin.site.register(model, ReadOnlyAdmin)
