"""Server-Sent Events of one job: its status document on every change, until it ends.

A stream holds a thread and a Redis connection like a long poll, so it holds one of the
process's waiting slots (app/services/waiting.py) for its life, and lasts at most
MAX_STREAM_SECONDS; the browser's EventSource then reconnects with Last-Event-ID.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from app.services.backend import backend
from jobs.kinds import JobKind
from jobs.status import StatusView, build_status
from jobs.store.record import JobSnapshot

KEEPALIVE_SECONDS = 15.0
DEFAULT_RETRY_MS = 2000


def event_id(snap: JobSnapshot, view: StatusView) -> int:
    """The job's sequence number of this document: every recorded change bumps the
    record's `seq`; the final document (Celery's state written after the record) one more."""
    return snap.record.seq * 2 + (1 if view.terminal else 0)


def frame(view: StatusView, seq: int) -> str:
    """One `status` event."""
    return f"event: status\nid: {seq}\ndata: {view.json()}\n\n"


def events(
    kind: JobKind,
    snap: JobSnapshot,
    last_seen: int | None,
    max_seconds: float,
    keepalive: float = KEEPALIVE_SECONDS,
) -> Iterator[str]:
    """The stream's text: `retry:`, then a status event per change (none the client has
    by its Last-Event-ID), keep-alive comments, and the end after the terminal event."""
    b = backend()
    job_id = snap.record.id
    deadline = time.monotonic() + max_seconds
    view = build_status(snap, kind)
    retry_ms = view.retry_after * 1000 if view.retry_after else DEFAULT_RETRY_MS
    yield f"retry: {retry_ms}\n\n"
    sent = last_seen if last_seen is not None else -1
    if event_id(snap, view) > sent:
        sent = event_id(snap, view)
        yield frame(view, sent)
    while not view.terminal:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        etag = view.etag

        def changed(s: JobSnapshot | None, etag: str = etag) -> bool:
            return s is None or build_status(s, kind).etag != etag

        latest = b.changes.wait_for(job_id, changed, min(keepalive, remaining), b.read)
        if latest is None:
            return  # forgotten: nothing more will happen
        fresh = build_status(latest, kind)
        if fresh.etag == etag:
            yield ": keep-alive\n\n"
            continue
        # A change the record did not count (Celery's own states): the next number.
        sent = max(event_id(latest, fresh), sent + 1)
        view = fresh
        yield frame(view, sent)
