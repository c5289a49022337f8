"""The OAuth callback's one-time code never reaches Django's request logs. gunicorn's access log is tested in
tests/web/test_deployment.py; `django.request` names only `request.path` (no query), so `django.server`, which
writes the raw request line, is the one that needs the filter."""

from __future__ import annotations

import logging

CALLBACK = "/connections/xero/callback/?code=AUTHCODE123&state=STATE456"


def test_the_development_servers_request_line_drops_the_query(caplog):
    # django.server formats the raw request line itself (WSGIRequestHandler.log_message).
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info('"%s" %s %s', f"GET {CALLBACK} HTTP/1.1", "302", "0")
    (record,) = [r for r in caplog.records if r.name == "django.server"]
    assert record.getMessage() == '"GET /connections/xero/callback/ HTTP/1.1" 302 0'


def test_paths_without_a_query_and_other_arguments_pass_unchanged(caplog):
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info("%s took %d ms from '%s'", "/api/v1/health", 3, "/a?b=c")
    assert caplog.records[-1].getMessage() == "/api/v1/health took 3 ms from '/a'"
