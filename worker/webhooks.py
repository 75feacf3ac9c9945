"""The webhook worker's side: the delivery task, and the loop that hands out due deliveries.

`celery --app worker worker --queues webhooks` (the Procfile's `webhooks` process) runs
the task in threads, so a receiver that takes its whole timeout holds one thread, never
a job's pool slot. The schedule lives in Redis (a sorted set, see
jobs/store/webhooks.py), not in Celery countdowns: a retry hours away is never held
unacknowledged by a worker (Redis would hand it to another after the visibility
timeout), and it survives restarts of the worker and of Redis (append-only file).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import kombu.exceptions
import redis
from celery.signals import worker_ready, worker_shutdown

from jobs.celery_config import WEBHOOK_QUEUE, WEBHOOK_TASK
from jobs.clients import webhook_producer
from jobs.errors import StoreUnavailable
from jobs.store.webhooks import LEASE_BATCH
from jobs.webhooks.delivery import deliver
from worker.celery_app import app
from worker.runtime import SETTINGS, clients

log = logging.getLogger(__name__)


# No task events: the monitor's history is of jobs (attempts are in the delivery log).
@app.task(name=WEBHOOK_TASK, acks_late=True, ignore_result=True, send_events=False)
def deliver_webhook(delivery_id: str, token: int) -> list[str]:
    """Attempt one webhook delivery (if lease `token` still holds it), then the later
    events of its job that were waiting behind it."""
    c = clients()
    return deliver(c.deliveries, c.secrets, SETTINGS, delivery_id, token)


class DueDeliveries(threading.Thread):
    """Every WEBHOOK_POLL_INTERVAL, lease the deliveries that are due and enqueue them.

    A lease re-schedules a delivery at its end, so one whose message or worker is lost
    (SIGKILL, a Redis restart) is handed out again then; several webhook workers may
    run this loop at once, each leasing different deliveries.
    """

    def __init__(self) -> None:
        super().__init__(name="webhook-schedule", daemon=True)
        self.stopped = threading.Event()
        self.producer = webhook_producer(SETTINGS)

    def run(self) -> None:
        """Loop until the worker shuts down."""
        while not self.stopped.is_set():
            try:
                handed = self.hand_out()
            except (
                StoreUnavailable,
                redis.RedisError,
                kombu.exceptions.OperationalError,
                OSError,
            ) as exc:
                log.warning("webhook schedule: %s; trying again", exc)
                handed = 0
            if handed < LEASE_BATCH:
                self.stopped.wait(SETTINGS.webhook_poll_interval)

    def hand_out(self) -> int:
        """Lease the due deliveries and enqueue an attempt of each; how many."""
        leased = clients().deliveries.lease(SETTINGS.webhook_lease)
        for delivery_id, token in leased:
            self.producer.send_task(WEBHOOK_TASK, args=[delivery_id, token], queue=WEBHOOK_QUEUE)
        return len(leased)


SCHEDULE: list[DueDeliveries] = []


def consumes_webhooks(consumer: Any) -> bool:
    """True in a worker that consumes the webhooks queue."""
    queues = getattr(getattr(consumer, "app", app).amqp.queues, "consume_from", None) or {}
    return WEBHOOK_QUEUE in queues


@worker_ready.connect
def _start_schedule(sender: Any = None, **_: Any) -> None:
    if consumes_webhooks(sender) and not SCHEDULE:
        SCHEDULE.append(DueDeliveries())
        SCHEDULE[0].start()
        log.info("webhook schedule started (every %.1f s)", SETTINGS.webhook_poll_interval)


@worker_shutdown.connect
def _stop_schedule(**_: Any) -> None:
    for loop in SCHEDULE:
        loop.stopped.set()
