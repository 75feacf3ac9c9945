"""gunicorn settings for the web process (read by the Procfile's `web` entry)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# WEB_CONCURRENCY processes x WEB_THREADS threads serve requests; a long poll
# (Prefer: wait) holds one thread, so threads bound the number of waiting clients.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Above the longest Prefer: wait (60 s) so a long poll is never killed as a hung worker.
timeout = int(os.environ.get("WEB_TIMEOUT", "90"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190
limit_request_fields = 100
