"""DELETE on a job: cancel it while it is unfinished, forget it once it finished."""

from __future__ import annotations

import logging

import kombu.exceptions
import redis

from app.services import reuse
from app.services.backend import backend
from jobs.states import State
from jobs.status import StatusView, build_status
from jobs.store.record import JobSnapshot
from jobs.webhooks.events import emit

log = logging.getLogger(__name__)


def cancel_or_forget(snap: JobSnapshot) -> StatusView | None:
    """Cancel an unfinished job (its new status), or forget a finished one (None)."""
    b = backend()
    kind = b.kind_of(snap)
    view = build_status(snap, kind)
    if view.terminal:
        b.jobs.forget(snap.record)
        kind.forget(snap.record, b.kind_services)
        return None
    b.jobs.request_cancel(
        snap.record.id, queued=view.state is State.QUEUED, owner=snap.record.owner
    )
    reuse.hand_over(snap)  # its followers did not ask to cancel: one of them computes
    try:
        # Revoke spares a worker the start of a queued job; the flag is what guarantees it.
        b.celery.control.revoke(snap.record.id)
    except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
        log.warning(
            "revoke of job %s failed (the cancel flag still stops it): %s", snap.record.id, exc
        )
    latest = b.jobs.read(snap.record.id)
    if view.state is State.QUEUED:  # cancelled here and now: its end is the web's to announce
        emit(b.deliveries, latest, kind, "completed")
    return build_status(latest if latest is not None else snap, kind)
