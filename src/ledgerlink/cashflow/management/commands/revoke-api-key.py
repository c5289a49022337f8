"""`ledgerlink revoke-api-key PREFIX`: stop a key working (the prefix is the part after `llk_`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (llk_<prefix>_...) or by the whole key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("key_or_prefix")

    def handle(self, *args, **options) -> None:
        given = options["key_or_prefix"]
        prefix = given.split("_")[1] if given.startswith(f"{apikeys.KEY_SCHEME}_") else given
        api_key = ApiKey.objects.filter(prefix=prefix).select_related("organisation").first()
        if api_key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        apikeys.revoke_api_key(api_key)
        self.stdout.write(f"Revoked {api_key.name!r} ({prefix}) of {api_key.organisation}.")
