from django.contrib.auth import views as auth_views
from django.urls import path

from ledgerlink.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orgs/<uuid:organisation_id>/", views.organisation, name="organisation"),
    path("orgs/<uuid:organisation_id>/mapping/", views.mapping, name="mapping"),
]
