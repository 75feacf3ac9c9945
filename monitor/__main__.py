"""`python -m monitor`: the monitor process (see the Procfile)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from jobs.clients import MonitorClients
from jobs.logs import configure_logging
from jobs.settings import Settings
from monitor.consumer import EventConsumer
from monitor.sampler import QueueSampler
from monitor.settings import MonitorSettings

log = logging.getLogger("monitor")


def build(shared: Settings, settings: MonitorSettings) -> tuple[EventConsumer, QueueSampler]:
    """Wire the consumer to the broker, the job store and the history database."""
    clients = MonitorClients.build(shared)
    consumer = EventConsumer(
        clients.celery, clients.recorder, clients.jobs, settings.reconnect_max_seconds
    )
    sampler = QueueSampler(
        clients.celery,
        clients.recorder,
        settings.queue_sample_seconds,
        settings.queue_sample_keep_seconds,
    )
    return consumer, sampler


def main() -> int:
    """Run until SIGTERM/SIGINT."""
    shared = Settings.from_env()
    configure_logging("monitor", shared)
    settings = MonitorSettings.from_env()
    consumer, sampler = build(shared, settings)

    def _stop(signum: int, _frame: object) -> None:
        log.info("monitor stopping on signal %s", signum)
        consumer.stop()
        sampler.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("monitor recording job history in %s", _safe_url(shared.history_database_url))
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
