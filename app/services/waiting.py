"""Long polls (`Prefer: wait=N`): wait for a job to finish or to change, within bounds.

A status long poll answers on the job's end or a change of its state at once; on a
progress step only once `min_interval` has passed since it arrived (coalescing the steps
in between), or never with `changes=state` (`wait_for_state`).

A waiting request holds a thread and a Redis connection, so at most
MAX_WAITING_REQUESTS of a process's requests wait at once; past that the preference is
ignored (RFC 7240 allows it) and the current document returned at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from flask import Flask, current_app

from app.services.backend import backend
from jobs.kinds import JobKind
from jobs.states import State
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
    job_id: str,
    kind: JobKind,
    seconds: int,
    unchanged: Callable[[StatusView], bool],
    min_interval: float = 0.0,
) -> JobSnapshot | None:
    """The job once its document changes (or after `seconds`); None if it disappeared.

    A change of progress alone within `min_interval` of the start is held back until
    `min_interval` has passed (the latest document is answered then), unless the job
    ends or changes state meanwhile.
    """
    start = time.monotonic()
    state: list[State] = []

    def changed(snap: JobSnapshot | None) -> bool:
        if snap is None:
            return True
        view = build_status(snap, kind)  # once per wake-up, not once per test
        if not state:
            state.append(view.state)
        return view.terminal or not unchanged(view)

    b = backend()
    found = b.changes.wait_for(job_id, changed, seconds, b.read)
    if found is None:
        return None
    view = build_status(found, kind)
    hold = min(start + min_interval, start + seconds) - time.monotonic()
    if view.terminal or hold <= 0 or unchanged(view) or (state and view.state != state[0]):
        return found
    return wait_for_state(job_id, kind, hold, view.state) or None


def wait_for_state(job_id: str, kind: JobKind, seconds: float, state: State) -> JobSnapshot | None:
    """The job once its state is other than `state` (or after `seconds`); None if gone."""

    def moved(snap: JobSnapshot | None) -> bool:
        if snap is None:
            return True
        view = build_status(snap, kind)
        return view.terminal or view.state is not state

    b = backend()
    return b.changes.wait_for(job_id, moved, seconds, b.read)
