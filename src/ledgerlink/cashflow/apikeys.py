"""API keys: `llk_<prefix>_<secret>`. Only the key's SHA-256 is stored; the prefix finds the row and the
digest is compared in constant time. A key is shown once, when it is made."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.utils import timezone

from ledgerlink.cashflow.models import ApiKey, Organisation

KEY_SCHEME = "llk"
# Writing last_used_at on every request would make each API read a write; a minute's precision is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def create_api_key(organisation: Organisation, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for the organisation: the stored row and the raw key, which is never retrievable again."""
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        organisation=organisation, name=name, prefix=prefix, hashed_key=_digest(raw_key)
    )
    return api_key, raw_key


def authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, with its organisation loaded; None for anything else."""
    scheme, _, rest = raw_key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not prefix or not secret:
        return None
    api_key = (
        ApiKey.objects.select_related("organisation").filter(prefix=prefix, revoked_at__isnull=True).first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _digest(raw_key)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def revoke_api_key(api_key: ApiKey) -> None:
    """Stop a key working from now on."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
