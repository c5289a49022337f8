"""URL map: each app mounts its own routes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledgerlink.cashflow.urls")),
    path("billing/", include("ledgerlink.billing.urls")),
    path("connections/", include("ledgerlink.ledgers.urls")),
    path("", include("ledgerlink.notices.urls")),
    path("", include("ledgerlink.web.urls")),
]
