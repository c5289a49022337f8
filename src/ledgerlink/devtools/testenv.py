"""A pytest plugin loaded before Django reads its settings (`-p ledgerlink.devtools.testenv` in pyproject):
the suite's files (SQLite databases, huey's queue) go to a fresh folder, never to a developer's var/, so a
later `make demo` never meets a test's leftover tasks; and the suite runs in test mode with one pair of
generated secrets (deployment.py), put in the environment so that every subprocess (consumers, gunicorn, a
demo), whatever data folder it is given, decrypts what the tests stored."""

import os
import tempfile
from pathlib import Path

from ledgerlink import deployment

os.environ.setdefault("LEDGERLINK_DATA_DIR", tempfile.mkdtemp(prefix="ledgerlink-tests-"))
os.environ.setdefault("LEDGERLINK_MODE", "test")
_secrets = deployment.kept_secrets(Path(os.environ["LEDGERLINK_DATA_DIR"]))
os.environ.setdefault(deployment.SECRET_KEY_VAR, _secrets.secret_key)
os.environ.setdefault(deployment.FERNET_KEYS_VAR, ",".join(_secrets.fernet_keys))
