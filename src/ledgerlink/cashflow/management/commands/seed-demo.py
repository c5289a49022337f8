"""`ledgerlink seed-demo`: three demo installers (US, AU, UK) with 18 months of invoices and payments."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from rich.progress import Progress

from ledgerlink.cashflow.demo import MARKETS, AlreadySeeded, seed_demo


class Command(BaseCommand):
    help = "Seed demo organisations, a demo admin user and an API key per organisation (once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--projects", type=int, default=24, help="Projects per organisation")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (same seed, same data)")

    def handle(self, *args, **options) -> None:
        total = options["projects"] * len(MARKETS)
        try:
            with Progress(transient=True) as progress:
                task = progress.add_task("Seeding demo projects", total=total)
                result = seed_demo(
                    projects_per_organisation=options["projects"],
                    seed=options["seed"],
                    tick=lambda: progress.advance(task),
                )
        except AlreadySeeded as already:
            self.stdout.write(str(already))
            return
        for organisation, key in result.api_keys:
            self.stdout.write(f"{organisation.name} ({organisation.country}): {organisation.pk}")
            self.stdout.write(f"  API key (shown once): {key}")
        password = result.password or "(unchanged: the user already existed)"
        self.stdout.write(f"Log in as {result.username} / {password}")
