"""Wait for a job's document to change without polling Redis: pub/sub notifications.

The worker PUBLISHes on `ar:events:<id>` whenever it updates the record or reports a
step, and Celery's Redis backend publishes on `celery-task-meta-<id>` whenever it
stores a state. A waiting request subscribes to both, re-reads the job on each
message and returns as soon as `done(snapshot)` holds, or when time is up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import redis

from jobs.errors import StoreUnavailable
from jobs.store import JobSnapshot, JobStore, reachable


def wait_for(
    store: JobStore,
    job_id: str,
    done: Callable[[JobSnapshot | None], bool],
    timeout: float,
) -> JobSnapshot | None:
    """The job's snapshot once `done` holds for it, or the latest one after `timeout` s."""
    deadline = time.monotonic() + timeout
    keys = store.keys
    with reachable():
        pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
    try:
        with reachable():
            # Subscribe before reading, so a change between the two is not missed.
            pubsub.subscribe(keys.events(job_id), keys.celery_meta(job_id))
        snap = store.read(job_id)
        while not done(snap):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with reachable():
                message = pubsub.get_message(timeout=min(remaining, 5.0))
            if message is None:
                continue
            # Several messages usually arrive together (record + Celery state): drain them.
            with reachable():
                while pubsub.get_message(timeout=0.0) is not None:
                    pass
            snap = store.read(job_id)
        return snap
    finally:
        # Closing a broken connection may fail; the pool replaces it either way.
        with contextlib.suppress(redis.RedisError, OSError, StoreUnavailable):
            pubsub.close()
