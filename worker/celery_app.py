"""The Celery application of the worker processes (`celery --app worker worker`)."""

from __future__ import annotations

import logging

from celery.signals import worker_ready, worker_shutdown

from jobs.celery_config import DEFAULT_QUEUE
from jobs.clients import worker_celery
from jobs.errors import StoreUnavailable
from jobs.logs import install_worker_hooks
from worker.liveness import install as install_liveness
from worker.runtime import SETTINGS, clients

log = logging.getLogger(__name__)

app = worker_celery(SETTINGS)
app.conf.include = ["worker.tasks", "worker.webhooks"]
install_worker_hooks(SETTINGS)
install_liveness(SETTINGS)


@worker_ready.connect
def _announce(sender: object, **_: object) -> None:
    queues = getattr(app.amqp.queues, "consume_from", None) or {}
    if queues and DEFAULT_QUEUE not in queues:
        return  # a webhook worker runs no jobs: it must not count in queue estimates
    hostname = getattr(sender, "hostname", "worker")
    slots = getattr(getattr(sender, "pool", None), "num_processes", None) or 1
    try:
        clients().registry.register(hostname, int(slots))
    except StoreUnavailable:
        log.warning("could not register worker %s for queue estimates", hostname)


@worker_shutdown.connect
def _withdraw(sender: object, **_: object) -> None:
    try:
        clients().registry.unregister(str(getattr(sender, "hostname", sender)))
    except StoreUnavailable:
        log.warning("could not unregister worker %s", sender)
