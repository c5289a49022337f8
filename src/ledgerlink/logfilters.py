"""Keeping secrets that travel in URLs out of Django's own request logs.

The OAuth callback carries its one-time `code` (and `state`) in the query string. gunicorn's access log
leaves query strings out (gunicorn_conf.py) and `django.request` names only the path, but `django.server`
(runserver, used in development) writes the whole request line. This filter cuts the query string from every
URL in such a record, whatever the view, before any handler formats it."""

from __future__ import annotations

import logging
import re

# A path followed by its query: "/connections/<provider>/callback/?code=..&state=.." up to a space or quote.
_QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")


def without_query(text: str) -> str:
    """`text` with every "?query" after a path removed."""
    return _QUERY.sub(r"\1", text)


class DropQueryStrings(logging.Filter):
    """Rewrites the record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = without_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(without_query(a) if isinstance(a, str) else a for a in record.args)
        return True
