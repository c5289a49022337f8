"""Where a process's secrets come from, by the mode it runs in (read by settings.py, so no Django imports).

- production (the default): DJANGO_SECRET_KEY and LEDGERLINK_SECRET_KEYS must be set; nothing is made up,
  so a deployment that forgets them stops at once instead of running with keys anyone could know.
- demo and test: the pair is generated once and kept in the data folder (mode 0600), so every process of
  one demo or one test session (web, consumers, sandboxes' callers) shares it and a restart keeps it.

A value that was ever published (in this source or its history) is refused in every mode by the system
check `ledgerlink.E001`/`E002` (web/checks.py).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

MODES = ("production", "demo", "test")
LOCAL_MODES = frozenset({"demo", "test"})
SECRET_KEY_VAR = "DJANGO_SECRET_KEY"
FERNET_KEYS_VAR = "LEDGERLINK_SECRET_KEYS"
SECRETS_FILE = "secrets.json"

# Fallbacks that earlier versions shipped in settings.py: public, so never acceptable.
PUBLISHED_SECRET_KEYS = frozenset({"ledgerlink-insecure-development-key-change-me-0123456789"})
PUBLISHED_FERNET_KEYS = frozenset({"bGVkZ2VybGluay1kZXZlbG9wbWVudC1rZXktMDAwMDA="})


class MissingSecrets(RuntimeError):
    """Production mode without its own secrets; the message names the variables and how to make them."""


@dataclass(frozen=True)
class Secrets:
    secret_key: str
    fernet_keys: list[str]


def mode(environ: Mapping[str, str]) -> str:
    value = environ.get("LEDGERLINK_MODE", "production").strip().lower()
    if value not in MODES:
        raise MissingSecrets(f"LEDGERLINK_MODE={value!r}: expected one of {', '.join(MODES)}.")
    return value


def secrets_for(environ: Mapping[str, str], run_mode: str, data_dir: Path) -> Secrets:
    """The secrets this process runs with: the environment's, else (demo and test only) the kept pair."""
    secret_key = environ.get(SECRET_KEY_VAR, "").strip()
    fernet_keys = [key.strip() for key in environ.get(FERNET_KEYS_VAR, "").split(",") if key.strip()]
    if secret_key and fernet_keys:
        return Secrets(secret_key, fernet_keys)
    if run_mode not in LOCAL_MODES:
        given = {SECRET_KEY_VAR: secret_key, FERNET_KEYS_VAR: fernet_keys}
        missing = [name for name, value in given.items() if not value]
        raise MissingSecrets(_missing_message(missing))
    kept = kept_secrets(data_dir)
    return Secrets(secret_key or kept.secret_key, fernet_keys or kept.fernet_keys)


def kept_secrets(data_dir: Path) -> Secrets:
    """The data folder's generated pair, made on first use. Creation is atomic (write aside, then link), so
    processes starting together all end up with the first one written."""
    path = data_dir / SECRETS_FILE
    if not path.exists():
        fresh = {"secret_key": secrets.token_urlsafe(50), "fernet_keys": [Fernet.generate_key().decode()]}
        draft = data_dir / f".{SECRETS_FILE}.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(fresh, handle)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won the race: use its pair
        finally:
            draft.unlink()
    stored = json.loads(path.read_text())
    return Secrets(stored["secret_key"], list(stored["fernet_keys"]))


def _missing_message(missing: list[str]) -> str:
    return (
        f"LedgerLink is in production mode and {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not set. Set both before starting:\n"
        f"  {SECRET_KEY_VAR}: 50 or more random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'\n"
        f"  {FERNET_KEYS_VAR}: Fernet keys, newest first, comma-separated, e.g. "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'\n"
        "To try LedgerLink locally instead, run `ledgerlink demo` (or `make demo`)."
    )
