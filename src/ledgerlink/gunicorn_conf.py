"""gunicorn settings for LedgerLink (`gunicorn ledgerlink.wsgi --config python:ledgerlink.gunicorn_conf`).

The access log leaves out what a log must never hold: gunicorn's default format writes the HTTP Basic user
(%(u)s), which is the API key when a client sends `-u KEY:`, and the query string (%(r)s), which holds the
authorization code on the OAuth callback. Method, path, protocol, status, size, time and user agent remain.
"""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
