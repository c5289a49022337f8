"""URL map: each app mounts its own routes."""

from django.contrib import admin
from django.urls import include, path, re_path

from ledgerlink.billing import views as billing_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledgerlink.cashflow.urls")),
    path("orgs/<uuid:organisation_id>/billing/", include("ledgerlink.billing.urls")),
    # The old organisation-less billing addresses: emailed invoice links still find their invoice.
    path("billing/invoices/<int:invoice_id>", billing_views.legacy),
    path("billing/invoices/<int:invoice_id>.txt", billing_views.legacy),
    re_path(r"^billing/", billing_views.legacy),
    path("connections/", include("ledgerlink.ledgers.urls")),
    path("", include("ledgerlink.notices.urls")),
    path("", include("ledgerlink.web.urls")),
]
