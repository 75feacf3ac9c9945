"""QueueSampler: records the broker queue's depth every few seconds (queue depth over time)."""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery
from sqlalchemy.exc import SQLAlchemyError

from jobs.celery_config import DEFAULT_QUEUE
from jobs.history.recorder import HistoryRecorder
from jobs.queues import queue_depth

log = logging.getLogger(__name__)


class QueueSampler:
    """Samples until stop(); a broker or database outage skips samples, never stops it."""

    def __init__(
        self,
        celery: Celery,
        history: HistoryRecorder,
        interval: float,
        keep_seconds: float,
        queue: str = DEFAULT_QUEUE,
    ) -> None:
        self.celery, self.history, self.queue = celery, history, queue
        self.interval, self.keep = interval, keep_seconds
        self.stopping = threading.Event()

    def sample_once(self) -> int | None:
        """Read and store one sample; None when it could not."""
        try:
            depth = queue_depth(self.celery, self.queue)
        except Exception as exc:  # noqa: BLE001 - transport errors differ per broker
            log.warning("queue depth unavailable: %s", exc)
            return None
        try:
            self.history.record_queue_depth(self.queue, depth, time.time(), self.keep)
        except SQLAlchemyError as exc:
            log.warning("could not store a queue-depth sample: %s", exc)
            return None
        return depth

    def run(self) -> None:
        """Sample every `interval` seconds until stop()."""
        while not self.stopping.is_set():
            self.sample_once()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        """Ask run() to return."""
        self.stopping.set()
