"""`ledgerlink create-api-key ORG_ID`: prints a new API key for the organisation, once."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.models import Organisation


class Command(BaseCommand):
    help = "Create an API key for an organisation and print it. Only its hash is stored: save it now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("organisation_id")
        parser.add_argument("--name", default="default", help="A label to tell keys apart")

    def handle(self, *args, **options) -> None:
        try:
            organisation = Organisation.objects.get(pk=uuid.UUID(options["organisation_id"]))
        except (ValueError, Organisation.DoesNotExist):
            raise CommandError(f"No organisation with id {options['organisation_id']!r}.") from None
        _, raw_key = apikeys.create_api_key(organisation, options["name"][:100])
        self.stdout.write(raw_key)
