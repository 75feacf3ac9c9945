"""`python -m monitor`: the monitor process (see the Procfile)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from celery import Celery

from jobs.celery_config import celery_config
from jobs.keys import Keys
from jobs.logs import configure_logging
from jobs.store import JobStore, connect
from monitor.consumer import EventConsumer
from monitor.history import JobHistory
from monitor.sampler import QueueSampler
from monitor.settings import MonitorSettings

log = logging.getLogger("monitor")


def build(settings: MonitorSettings) -> tuple[EventConsumer, QueueSampler]:
    """Wire the consumer to the broker, the job store and the history database."""
    celery = Celery("async-reports-monitor", set_as_current=False)
    celery.config_from_object(celery_config(settings.shared))
    history = JobHistory.from_url(settings.database_url)
    history.create_tables()
    shared = settings.shared
    store = JobStore(
        connect(shared.result_backend_url, shared.redis_timeout),
        Keys(shared.key_prefix),
        shared.retention_seconds,
        shared.tombstone_seconds,
    )
    consumer = EventConsumer(celery, history, store, settings.reconnect_max_seconds)
    sampler = QueueSampler(
        celery, history, settings.queue_sample_seconds, settings.queue_sample_keep_seconds
    )
    return consumer, sampler


def main() -> int:
    """Run until SIGTERM/SIGINT."""
    configure_logging("monitor")
    settings = MonitorSettings.from_env()
    consumer, sampler = build(settings)

    def _stop(signum: int, _frame: object) -> None:
        log.info("monitor stopping on signal %s", signum)
        consumer.stop()
        sampler.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("monitor recording job history in %s", _safe_url(settings.database_url))
    worker = threading.Thread(target=consumer.run, name="event-consumer", daemon=True)
    worker.start()
    threading.Thread(target=sampler.run, name="queue-sampler", daemon=True).start()
    while worker.is_alive():
        worker.join(0.5)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
