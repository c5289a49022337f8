"""/connections/<provider>/...: included from ledgerlink/urls.py."""

from django.urls import path

from ledgerlink.ledgers import oauth_views, views

app_name = "ledgers"

urlpatterns = [
    path("<str:provider>/connect/", oauth_views.connect, name="connect"),
    path("<str:provider>/callback/", oauth_views.callback, name="callback"),
    path("<str:provider>/tenants/<str:state_value>/", oauth_views.pick_tenant, name="tenants"),
    path("<str:provider>/disconnect/", views.disconnect, name="disconnect"),
    # The "disconnect URL" registered with Intuit: where a user lands after disconnecting us on their side.
    path("<str:provider>/disconnected/", views.disconnected, name="disconnected"),
    path("<str:provider>/chart/", views.reload_chart, name="chart"),
]
