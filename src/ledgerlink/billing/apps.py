from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "ledgerlink.billing"
    label = "billing"
