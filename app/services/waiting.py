"""Long polls (`Prefer: wait=N`): wait for a job to finish or to change, within bounds.

A waiting request holds a thread and a Redis connection, so at most
MAX_WAITING_REQUESTS of a process's requests wait at once; past that the preference is
ignored (RFC 7240 allows it) and the current document returned at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from flask import Flask, current_app

from app.services.backend import backend
from jobs.kinds import JobKind
from jobs.status import StatusView, build_status
from jobs.store.record import JobSnapshot


def init_app(app: Flask) -> None:
    """Bound the requests of this process that may wait at once (MAX_WAITING_REQUESTS)."""
    app.extensions["async_reports_wait_slots"] = threading.BoundedSemaphore(
        max(1, app.config["MAX_WAITING_REQUESTS"])
    )


@contextlib.contextmanager
def slot(wait: int | None) -> Iterator[int | None]:
    """`wait` while this request holds a waiting slot; None when none is free."""
    slots: threading.BoundedSemaphore = current_app.extensions["async_reports_wait_slots"]
    if wait is None or not slots.acquire(blocking=False):
        yield None
        return
    try:
        yield wait
    finally:
        slots.release()


def wait_until_finished(snap: JobSnapshot, kind: JobKind, seconds: int) -> StatusView:
    """The job's status once it is terminal, or as it is after `seconds`."""
    view = build_status(snap, kind)
    if view.terminal or seconds <= 0:
        return view
    b = backend()
    latest = b.changes.wait_for(
        snap.record.id,
        lambda s: s is None or build_status(s, kind).terminal,
        seconds,
        b.read,
    )
    return build_status(latest, kind) if latest is not None else view


def wait_for_change(
    job_id: str, kind: JobKind, seconds: int, unchanged: Callable[[StatusView], bool]
) -> JobSnapshot | None:
    """The job once its document changes (or after `seconds`); None if it disappeared."""

    def changed(snap: JobSnapshot | None) -> bool:
        if snap is None:
            return True
        view = build_status(snap, kind)  # once per wake-up, not once per test
        return view.terminal or not unchanged(view)

    b = backend()
    return b.changes.wait_for(job_id, changed, seconds, b.read)
