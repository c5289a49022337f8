"""Mounted under /orgs/<organisation_id>/billing/ (ledgerlink/urls.py): every billing page names its
organisation."""

from django.urls import path

from ledgerlink.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.status, name="status"),
    path("enable", views.enable, name="enable"),
    path("cancel", views.cancel, name="cancel"),
    path("invoices/<int:invoice_id>", views.invoice_html, name="invoice"),
    path("invoices/<int:invoice_id>.txt", views.invoice_text, name="invoice_text"),
]
