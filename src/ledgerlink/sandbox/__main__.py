"""``python -m ledgerlink.sandbox xero --port PORT ...``."""

import sys

from .cli import main

sys.exit(main())
