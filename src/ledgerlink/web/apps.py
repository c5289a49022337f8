from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "ledgerlink.web"
    label = "web"
