"""Wait for a job's document to change without polling Redis: pub/sub notifications.

The worker PUBLISHes on `ar:events:<id>` whenever it updates the record or reports a
step, and Celery's Redis backend publishes on `celery-task-meta-<id>` whenever it
stores a state. A waiting request subscribes to both, re-reads the job on each
message and returns as soon as `done(snapshot)` holds, or when time is up.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import redis
from flask import Flask, current_app

from jobs.errors import StoreUnavailable
from jobs.store import JobSnapshot, JobStore, reachable


def wait_for(
    store: JobStore,
    job_id: str,
    done: Callable[[JobSnapshot | None], bool],
    timeout: float,
    read: Callable[[str], JobSnapshot | None] | None = None,
) -> JobSnapshot | None:
    """The job's snapshot once `done` holds for it, or the latest one after `timeout` s.

    `read` reads the job (default: `store.read`; the web passes its own, which also
    fails overdue jobs).
    """
    read = read or store.read
    deadline = time.monotonic() + timeout
    keys = store.keys
    with reachable():
        pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
    try:
        with reachable():
            # Subscribe before reading, so a change between the two is not missed.
            pubsub.subscribe(keys.events(job_id), keys.celery_meta(job_id))
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


def init_app(app: Flask) -> None:
    """Bound the requests of this process that may wait at once (MAX_WAITING_REQUESTS)."""
    app.extensions["async_reports_wait_slots"] = threading.BoundedSemaphore(
        max(1, app.config["MAX_WAITING_REQUESTS"])
    )


@contextlib.contextmanager
def slot(wait: int | None) -> Iterator[int | None]:
    """`wait` while this request holds a waiting slot; None when none is free.

    A preference may be ignored (RFC 7240), and is, rather than let waiting clients
    take every thread: the rest of the threads stay free for ordinary requests.
    """
    slots: threading.BoundedSemaphore = current_app.extensions["async_reports_wait_slots"]
    if wait is None or not slots.acquire(blocking=False):
        yield None
        return
    try:
        yield wait
    finally:
        slots.release()
