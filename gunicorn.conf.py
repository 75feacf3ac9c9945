"""gunicorn settings for the web process (read by the Procfile's `web` entry)."""

import os

from app.config import WebSettings
from jobs.settings import Settings

_web, _shared = WebSettings.from_env(), Settings.from_env()
bind = f"0.0.0.0:{_web.port}"
# WEB_CONCURRENCY processes x WEB_THREADS threads serve requests. A long poll
# (`Prefer: wait=N`) holds one thread and one Redis pub/sub connection while it waits.
# At most MAX_WAITING_REQUESTS per process wait at once (default 3/4 of WEB_THREADS:
# 2 x 48 = 96 clients with the defaults); past that the preference is ignored (RFC 7240
# allows it) and the current document is returned at once, so ordinary polls always
# find a free thread. Measured with `python -m bench.long_polls` (README, "Long polls",
# 400 clients waiting 8 s): plain polls p50 7.6 ms / max 35 ms, 96 waits honoured. With
# no cap and 2 x 8 threads, 100 waiting clients stalled a plain poll for 55 s. gevent
# (no thread bound) managed 400 waiting clients with plain polls <= 340 ms, but needs
# monkey-patching under Celery's producer and redis-py: gthread it is. Raise WEB_THREADS
# for more waiting clients; idle threads are cheap (~150 MB RSS for 2 x 256 threads).
workers = _web.web_concurrency
# gthread with bounded request reads (408) and problem+json for gunicorn's own errors.
worker_class = (
    "app.server.ProblemThreadWorker"
    if _web.web_worker_class == "gthread"
    else _web.web_worker_class
)
threads = _web.web_threads
# Above the longest Prefer: wait (60 s) so a long poll is never killed as a hung worker.
timeout = _web.web_timeout
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = _shared.log_level.lower()
forwarded_allow_ips = _web.forwarded_allow_ips
limit_request_line = 8190
limit_request_fields = 100

# --- metrics: prometheus-client multiprocess mode ----------------------------
# Every gunicorn worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and
# /metrics adds them up. The variable must be set before a worker imports
# prometheus_client, i.e. here in the master. A private temporary directory is used
# when none is given; the directory is emptied at start so old counts never leak in.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="async-reports-metrics-")


def on_starting(server):
    """Empty the metrics directory (files of a previous run would add stale counts)."""
    import glob

    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """Tell prometheus-client a worker died (drops its live-gauge files)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# --- logs: JSON lines on stdout (LOG_FORMAT=text for plain lines) ------------
# The access line carries the request id the app returned in X-Request-ID.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s agent="%(a)s"'
if _shared.json_logs:
    _handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "formatter": "json",
        "filters": ["context"],
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "jobs.logs.ContextFilter", "process_type": "web"}},
        "formatters": {"json": {"()": "jobs.logs.json_formatter"}},
        "handlers": {"stdout": _handler},
        "root": {"level": loglevel.upper(), "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["stdout"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
