from django.apps import AppConfig


class CashflowConfig(AppConfig):
    name = "ledgerlink.cashflow"
    label = "cashflow"
