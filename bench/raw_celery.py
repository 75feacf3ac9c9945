"""The baselines' worker side: a raw Celery app with a no-op task and OUR settings.

Started with the Procfile's worker command (`--app bench.raw_celery` in place of
`--app worker`), so pool, concurrency, acks late, prefetch 1, events and time limits are
ours; only the queue differs, so it never takes our jobs (and ours never take its tasks).
"""

from __future__ import annotations

from celery import Celery

from jobs.celery_config import celery_config
from jobs.settings import Settings

QUEUE = "bench-raw"

app = Celery("bench-raw")
app.config_from_object(celery_config(Settings.from_env()))
app.conf.task_default_queue = QUEUE


@app.task(name="bench.noop")
def noop() -> None:
    """Do nothing: the cost measured is Celery's own."""
