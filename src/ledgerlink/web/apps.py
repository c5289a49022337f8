from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "ledgerlink.web"
    label = "web"

    def ready(self) -> None:
        from ledgerlink.web import checks  # noqa: F401  (registers the deployment checks)
