from django.urls import path

from ledgerlink.notices import views

app_name = "notices"

urlpatterns = [
    path("orgs/<uuid:organisation_id>/notices/", views.notices, name="settings"),
    path("orgs/<uuid:organisation_id>/notices/retry/", views.retry_group, name="retry"),
    path("notices/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("_demo/mail/", views.mailbox, name="mailbox"),
]
