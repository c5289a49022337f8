"""`ledgerlink reencrypt-secrets`: move every encrypted value onto the newest of LEDGERLINK_SECRET_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from rich.progress import Progress

from ledgerlink.crypto import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the newest key (run after prepending a key)."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        with Progress(disable=options["verbosity"] == 0) as progress:
            for model, names in encrypted_fields():
                pks = list(model._default_manager.values_list("pk", flat=True))
                task = progress.add_task(f"{model._meta.label}", total=len(pks))
                for pk in pks:
                    total += self._reencrypt_row(model, pk, names)
                    progress.advance(task)
        self.stdout.write(f"Re-encrypted {total} row(s) with the newest key.")

    @staticmethod
    def _reencrypt_row(model: Any, pk: Any, names: list[str]) -> int:
        # Under the row lock: a token refresh saving a rotated refresh token at the same moment must not be
        # overwritten by the value read here a moment earlier.
        with transaction.atomic():
            row = model._default_manager.select_for_update().filter(pk=pk).values(*names).first()
            if row is None:
                return 0
            # Saving the plaintext encrypts it again with the newest key (EncryptedTextField.get_prep_value).
            model._default_manager.filter(pk=pk).update(**row)
            return 1
