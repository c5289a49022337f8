"""Secrets at rest: an encrypted text field over `MultiFernet`.

Keys come from `settings.LEDGERLINK_SECRET_KEYS`, newest first. Values are encrypted with the newest key and
decrypted with any of them, so a key is rotated by prepending a new one, running
`ledgerlink reencrypt-secrets`, then dropping the old key. The database only ever holds Fernet tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("LEDGERLINK_SECRET_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("LEDGERLINK_SECRET_KEYS holds a value that is not a Fernet key.") from exc


def fernet() -> MultiFernet:
    """The MultiFernet for the keys configured now (tests may override the setting)."""
    return _multi_fernet(tuple(settings.LEDGERLINK_SECRET_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt with the newest key."""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key made the token."""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # Never echo the token: say what to check instead.
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with LEDGERLINK_SECRET_KEYS: was a key removed too early?"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column that holds only ciphertext; Python code sees plaintext. Empty stays empty, so "no token"
    needs no ciphertext. Not searchable or orderable by value, by design."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted columns, and those columns' attribute names."""
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names
