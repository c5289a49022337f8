"""System checks for a safe deployment: secrets that were ever published are refused in every mode, and
production should be reached over https (`ledgerlink check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from ledgerlink import deployment


@register(Tags.security)
def published_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.SECRET_KEY in deployment.PUBLISHED_SECRET_KEYS:
        errors.append(
            Error(
                "SECRET_KEY is a value published in LedgerLink's source: sessions and CSRF tokens can be "
                "forged.",
                hint=f"Set {deployment.SECRET_KEY_VAR} to 50 or more random characters.",
                id="ledgerlink.E001",
            )
        )
    if deployment.PUBLISHED_FERNET_KEYS.intersection(settings.LEDGERLINK_SECRET_KEYS):
        errors.append(
            Error(
                "LEDGERLINK_SECRET_KEYS holds a key published in LedgerLink's source: stored ledger tokens "
                "can be decrypted by anyone.",
                hint="Put a new Fernet key first, run `ledgerlink reencrypt-secrets`, then drop the "
                "published one.",
                id="ledgerlink.E002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def public_url_is_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.LEDGERLINK_MODE == "production" and not settings.PUBLIC_URL.startswith("https://"):
        return [
            Warning(
                f"LEDGERLINK_PUBLIC_URL is {settings.PUBLIC_URL}: sign-in, OAuth callbacks and API keys "
                "would travel unencrypted, and HTTPS hardening (HSTS, Secure cookies) stays off.",
                hint="Serve LedgerLink behind TLS and set LEDGERLINK_PUBLIC_URL=https://...",
                id="ledgerlink.W001",
            )
        ]
    return []
