"""Gunicorn defaults for Closeloop; every value can be overridden on the command line."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:" + os.environ.get("PORT", "8000"))
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound. A worker takes
# about a second to boot, its place empty meanwhile: every 10,000 requests put p99 spikes of
# 350 to 570 ms into busy bench/load.py rounds. A wide jitter keeps workers started together
# (after a deploy) from all restarting at once, with none left to answer.
max_requests = 100_000
max_requests_jitter = 50_000
# The load balancer's address; X-Forwarded-* from anyone else is ignored.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# No query strings in the access log: they are where personal data would leak.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
