"""The Celery application of the worker processes (`celery --app worker worker`)."""

from __future__ import annotations

import logging

from celery.signals import heartbeat_sent, worker_ready, worker_shutdown

from jobs.celery_config import DEFAULT_QUEUE
from jobs.clients import worker_celery
from jobs.errors import StoreUnavailable
from jobs.logs import install_worker_hooks
from worker.kombu_fixes import install as install_kombu_fixes
from worker.liveness import install as install_liveness
from worker.runtime import SETTINGS, clients, hand_over_next

log = logging.getLogger(__name__)

app = worker_celery(SETTINGS)
app.conf.include = ["worker.tasks", "worker.webhooks"]
install_worker_hooks(SETTINGS)
install_liveness(SETTINGS)
install_kombu_fixes()


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


@heartbeat_sent.connect
def _hand_over(**_: object) -> None:
    """Every heartbeat (2 s): hand queued jobs over if nothing else did (an idle system,
    a failed publish, a hand-over whose process died), and prune the running set."""
    hand_over_next(app)
    if SETTINGS.fair_sharing:
        try:
            clients().fair.counts()
        except StoreUnavailable as exc:
            log.warning("running jobs not pruned: %s", exc)


@worker_shutdown.connect
def _withdraw(sender: object, **_: object) -> None:
    try:
        clients().registry.unregister(str(getattr(sender, "hostname", sender)))
    except StoreUnavailable:
        log.warning("could not unregister worker %s", sender)
