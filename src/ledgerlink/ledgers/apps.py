from django.apps import AppConfig


class LedgersConfig(AppConfig):
    name = "ledgerlink.ledgers"
    label = "ledgers"
