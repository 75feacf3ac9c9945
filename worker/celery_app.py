"""The Celery application of the worker processes (`celery -A worker worker`)."""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from jobs.celery_config import celery_config
from jobs.errors import StoreUnavailable
from jobs.logs import install_worker_hooks
from jobs.settings import Settings
from worker.liveness import install as install_liveness

log = logging.getLogger(__name__)

settings = Settings.from_env()
app = Celery("async-reports")
app.config_from_object(celery_config(settings))
app.conf.include = ["worker.tasks"]
install_worker_hooks()
install_liveness()


@worker_ready.connect
def _announce(sender: object, **_: object) -> None:
    from worker.tasks import store

    consumer = sender
    hostname = getattr(consumer, "hostname", "worker")
    slots = getattr(getattr(consumer, "pool", None), "num_processes", None) or 1
    try:
        store().register_worker(hostname, int(slots))
    except StoreUnavailable:
        log.warning("could not register worker %s for queue estimates", hostname)


@worker_shutdown.connect
def _withdraw(sender: object, **_: object) -> None:
    from worker.tasks import store

    try:
        store().unregister_worker(str(getattr(sender, "hostname", sender)))
    except StoreUnavailable:
        log.warning("could not unregister worker %s", sender)
