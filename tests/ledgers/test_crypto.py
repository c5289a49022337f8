"""Tokens at rest: only ciphertext in the database; rotation onto a new key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection as db

from ledgerlink.cashflow.models import Organisation
from ledgerlink.ledgers.models import Connection

pytestmark = pytest.mark.django_db

ACCESS, REFRESH = "access-token-value-1234567890", "refresh-token-value-0987654321"


def _raw(pk: int) -> tuple[str, str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM ledgers_connection WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.fixture
def stored(settings):
    settings.LEDGERLINK_SECRET_KEYS = [Fernet.generate_key().decode()]
    organisation = Organisation.objects.create(
        name="Sunny", country="AU", home_currency="AUD", time_zone="Australia/Perth"
    )
    return Connection.objects.create(
        organisation=organisation,
        provider="xero",
        tenant_id="t-1",
        access_token=ACCESS,
        refresh_token=REFRESH,
    )


def test_the_database_holds_only_ciphertext(stored):
    raw_access, raw_refresh = _raw(stored.pk)
    assert ACCESS not in raw_access and REFRESH not in raw_refresh
    assert raw_access.startswith("gAAAA") and raw_refresh.startswith("gAAAA")  # Fernet tokens
    reread = Connection.objects.get(pk=stored.pk)
    assert (reread.access_token, reread.refresh_token) == (ACCESS, REFRESH)


def test_reencrypt_moves_every_value_onto_the_newest_key(stored, settings):
    old_key = settings.LEDGERLINK_SECRET_KEYS[0]
    before = _raw(stored.pk)
    settings.LEDGERLINK_SECRET_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("reencrypt-secrets", verbosity=0)
    after = _raw(stored.pk)
    assert after != before
    settings.LEDGERLINK_SECRET_KEYS = settings.LEDGERLINK_SECRET_KEYS[:1]  # the old key is gone now
    reread = Connection.objects.get(pk=stored.pk)
    assert (reread.access_token, reread.refresh_token) == (ACCESS, REFRESH)


def test_a_missing_key_fails_loudly_without_echoing_the_token(stored, settings):
    settings.LEDGERLINK_SECRET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured) as raised:
        Connection.objects.get(pk=stored.pk)
    assert "gAAAA" not in str(raised.value)
