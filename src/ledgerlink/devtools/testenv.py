"""A pytest plugin loaded before Django reads its settings (`-p ledgerlink.devtools.testenv` in pyproject):
the suite's files (SQLite databases, huey's queue) go to a fresh folder, never to a developer's var/, so
a later `make demo` never meets a test's leftover tasks. Subprocesses (consumers, sandboxes) inherit it."""

import os
import tempfile

os.environ.setdefault("LEDGERLINK_DATA_DIR", tempfile.mkdtemp(prefix="ledgerlink-tests-"))
