from django.contrib.auth import views as auth_views
from django.urls import path

from ledgerlink.cashflow import signin
from ledgerlink.web import console, health, team, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", authentication_form=signin.ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orgs/<uuid:organisation_id>/", views.organisation, name="organisation"),
    path("orgs/<uuid:organisation_id>/mapping/", views.mapping, name="mapping"),
    path("orgs/<uuid:organisation_id>/disconnect/", views.confirm_disconnect, name="disconnect"),
    path("orgs/<uuid:organisation_id>/health/", health.health, name="health"),
    path("orgs/<uuid:organisation_id>/members/", team.members, name="members"),
    path("orgs/<uuid:organisation_id>/api-keys/", team.api_keys, name="api_keys"),
    path("orgs/<uuid:organisation_id>/api-keys/<int:key_id>/revoke/", team.revoke_key, name="revoke_key"),
    path("orgs/<uuid:organisation_id>/invoices/", console.invoices, name="invoices"),
    path("orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/", console.invoice, name="invoice"),
    path(
        "orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/retry/", console.retry_one, name="retry_one"
    ),
    path("orgs/<uuid:organisation_id>/invoices/<uuid:invoice_id>/preview/", views.preview, name="preview"),
    path("orgs/<uuid:organisation_id>/retry/", console.retry_all, name="retry_all"),
    path("orgs/<uuid:organisation_id>/history/", console.start_history, name="start_history"),
    path(
        "orgs/<uuid:organisation_id>/history/<int:push_id>/",
        console.history_progress,
        name="history_progress",
    ),
]
