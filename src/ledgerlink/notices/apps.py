from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "ledgerlink.notices"
    label = "notices"
