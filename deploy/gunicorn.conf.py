"""gunicorn's settings for Parvis (deploy/systemd/parvis-web.service). Values an operator may
change come from the same environment file as Parvis's (/etc/parvis/parvis.env)."""

import multiprocessing
import os

# Where nginx reaches this node: 127.0.0.1 when nginx runs on the same machine, the node's
# private address when one nginx serves several application servers.
bind = os.environ.get("PARVIS_BIND", "127.0.0.1:8000")

# Pre-fork workers: requests are short (PDFs and e-mails leave through the task workers), so
# two per core keep the CPU busy while one waits on the database.
workers = int(os.environ.get("PARVIS_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1))

# Under nginx's proxy_read_timeout (60 s): a stuck worker is killed and replaced before the
# proxy gives up on it.
timeout = int(os.environ.get("PARVIS_WEB_TIMEOUT", 55))
graceful_timeout = 30
keepalive = 5

# A worker is replaced after this many requests (and a random few more, so they do not all
# restart at once): a slow leak never grows for long.
max_requests = 2000
max_requests_jitter = 200

# Logs on stderr (systemd's journal). The access line carries the request id Parvis answered
# (X-Request-ID: nginx's, or one Parvis made), the same as on Parvis's own lines.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
