"""A pytest plugin loaded before Django reads its settings (`-p ledgerlink.devtools.testenv` in pyproject):
the suite's files (SQLite databases, huey's queue, the generated secrets) go to a fresh folder, never to a
developer's var/, so a later `make demo` never meets a test's leftover tasks, and the suite runs in test mode
(deployment.py), so it makes its own secrets. Subprocesses (consumers, sandboxes) inherit both."""

import os
import tempfile

os.environ.setdefault("LEDGERLINK_DATA_DIR", tempfile.mkdtemp(prefix="ledgerlink-tests-"))
os.environ.setdefault("LEDGERLINK_MODE", "test")
