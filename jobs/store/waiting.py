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
from jobs.store.connection import reachable
from jobs.store.keys import Keys
from jobs.store.record import JobSnapshot

Reader = Callable[[str], JobSnapshot | None]


class ChangeFeed:
    """Waits on a job's change notifications."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def wait_for(
        self,
        job_id: str,
        done: Callable[[JobSnapshot | None], bool],
        timeout: float,
        read: Reader,
    ) -> JobSnapshot | None:
        """The job's snapshot (as `read` reads it) once `done` holds, or after `timeout` s."""
        deadline = time.monotonic() + timeout
        with reachable():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            with reachable():
                # Subscribe before reading, so a change between the two is not missed.
                pubsub.subscribe(self.keys.events(job_id), self.keys.celery_meta(job_id))
            snap = read(job_id)
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
                snap = read(job_id)
            return snap
        finally:
            # Closing a broken connection may fail; the pool replaces it either way.
            with contextlib.suppress(redis.RedisError, OSError, StoreUnavailable):
                pubsub.close()
