"""EventConsumer: turns Celery's task and worker events into job history rows."""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from celery import Celery
from sqlalchemy.exc import SQLAlchemyError

from jobs.backoff import compute_backoff
from jobs.errors import StoreUnavailable
from jobs.history.recorder import HistoryRecorder
from jobs.store.jobs import JobStore

log = logging.getLogger(__name__)

TASK_EVENTS = frozenset(
    {
        "task-sent",
        "task-received",
        "task-started",
        "task-succeeded",
        "task-failed",
        "task-retried",
        "task-revoked",
        "task-rejected",
    }
)
WORKER_EVENTS = frozenset({"worker-online", "worker-heartbeat", "worker-offline"})


class EventConsumer:
    """Captures events from the broker forever, reconnecting after broker restarts."""

    def __init__(
        self,
        celery: Celery,
        history: HistoryRecorder,
        store: JobStore | None = None,
        reconnect_max_seconds: float = 10.0,
    ) -> None:
        self.celery = celery
        self.history = history
        self.store = store
        self.reconnect_max = reconnect_max_seconds
        self.stopping = threading.Event()
        self.events_seen = 0
        self._receiver: Any = None

    def handle(self, event: dict[str, Any]) -> None:
        """Record one event; a database hiccup loses that event, never the consumer."""
        kind = event.get("type", "")
        try:
            if kind in TASK_EVENTS:
                self.history.record_task_event(event)
                if kind == "task-failed":
                    self._copy_client_error(event["uuid"])
            elif kind in WORKER_EVENTS:
                self.history.record_worker_event(event)
            else:
                return
        except SQLAlchemyError:
            log.exception("could not record %s event", kind)
            return
        self.events_seen += 1
        if kind in TASK_EVENTS:
            log.info("recorded %s", kind, extra={"job_id": event.get("uuid"), "event": kind})

    def _copy_client_error(self, job_id: str) -> None:
        # The worker writes the problem details the client sees into the job record
        # before it raises; keep that (it outlives the record), not the exception repr.
        if self.store is None:
            return
        try:
            snap = self.store.read(job_id)
        except (StoreUnavailable, redis.RedisError):
            log.warning("could not read the error of failed job %s", job_id)
            return
        if snap is not None and snap.record.error:
            self.history.set_error(job_id, snap.record.error)

    def run(self) -> None:
        """Consume until stop() is called; reconnect with backoff after a connection loss."""
        attempt = 0
        while not self.stopping.is_set():
            try:
                with self.celery.connection_for_read() as conn:
                    conn.ensure_connection(max_retries=1, timeout=5)
                    self._receiver = self.celery.events.Receiver(conn, handlers={"*": self.handle})
                    log.info("monitor connected to the broker; capturing events")
                    attempt = 0
                    # Returns only when stop() sets should_stop (checked every second).
                    self._receiver.capture(limit=None, timeout=None, wakeup=True)
            except Exception as exc:  # noqa: BLE001 - kombu raises the transport's own errors
                if self.stopping.is_set():
                    return
                attempt += 1
                pause = compute_backoff(attempt, base=0.5, cap=self.reconnect_max)
                log.warning(
                    "lost the broker (%s: %s); reconnecting in %.1fs",
                    type(exc).__name__,
                    exc,
                    pause,
                )
                self.stopping.wait(pause)

    def stop(self) -> None:
        """Ask run() to return within about a second."""
        self.stopping.set()
        if self._receiver is not None:
            self._receiver.should_stop = True
