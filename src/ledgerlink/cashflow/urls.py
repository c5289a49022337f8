from django.urls import path

from ledgerlink.cashflow.api import api

urlpatterns = [path("", api.urls)]
