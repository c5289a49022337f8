"""`ledgerlink create-organisation --name NAME --country AU|US|GB|NZ`: prints the new organisation's id."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledgerlink.cashflow import services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.services import COUNTRY_DEFAULTS


class Command(BaseCommand):
    help = "Create an organisation and print its id. Currency and time zone default from the country."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--country", required=True, choices=list(COUNTRY_DEFAULTS))
        parser.add_argument("--currency", help="Home currency (default: the country's)")
        parser.add_argument("--time-zone", help="IANA time zone (default: the country's main one)")
        parser.add_argument("--accounting-email", default="", help="Where connector notices go")

    def handle(self, *args, **options) -> None:
        try:
            organisation = services.create_organisation(
                options["name"],
                options["country"],
                home_currency=options["currency"],
                time_zone=options["time_zone"],
                accounting_email=options["accounting_email"],
            )
        except ValidationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(str(organisation.pk))
