"""What the reports views do to jobs beyond reading them: submit (idempotently), wait
for a change, cancel, forget. Kept apart from the views so each view stays a few lines."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis

from app import idempotency
from app.backend import backend
from app.problems import Problem
from app.status import StatusView, build_status
from app.waiting import wait_for
from jobs.catalogue import ReportType
from jobs.errors import BrokerUnavailable, StoreUnavailable
from jobs.states import QUEUED
from jobs.store import JobSnapshot

log = logging.getLogger(__name__)

# A racing request with the same Idempotency-Key waits this long for the winner's record.
CLAIM_WAIT_SECONDS, CLAIM_POLL_SECONDS = 2.0, 0.05


def submit(report_type: ReportType, body: dict[str, Any], owner: str, headers: Any) -> JobSnapshot:
    """Create and enqueue a job, or return the job an earlier request with this key made."""
    key = headers.get("Idempotency-Key")
    if key is None:
        return backend().submit(report_type, body["parameters"], owner)
    if not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH:
        raise Problem(
            422,
            "The request did not validate; see `errors` for each field.",
            errors={"Idempotency-Key": ["Must be 1 to 255 characters."]},
        )
    store = backend().store
    wanted = idempotency.Claim(str(uuid.uuid4()), idempotency.fingerprint(body))
    held = idempotency.claim(store, owner, key, wanted)
    if held is None:
        try:
            return backend().submit(report_type, body["parameters"], owner, job_id=wanted.job_id)
        except (BrokerUnavailable, StoreUnavailable):
            idempotency.release(store, owner, key, wanted)
            raise
    if held.fingerprint != wanted.fingerprint:
        raise Problem(
            422,
            "This Idempotency-Key was used with a different request body.",
            errors={"Idempotency-Key": ["Already used for another request; use a new key."]},
        )
    return _claimed_job(held.job_id)


def _claimed_job(job_id: str) -> JobSnapshot:
    """The job of an existing claim, waiting briefly while its first request creates it."""
    store = backend().store
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while True:
        snap = backend().read(job_id)
        if snap is not None:
            return snap
        # The record and its tombstone are written together: a tombstone without a
        # record on a second read means the job was deleted (not that it is being made).
        if store.existed(job_id) is not None and store.read(job_id) is None:
            raise Problem(
                422,
                "The job made with this Idempotency-Key has been deleted.",
                errors={"Idempotency-Key": ["Its job was deleted; use a new key."]},
            )
        if time.monotonic() >= deadline:
            raise Problem(
                409,
                "A request with this Idempotency-Key is still being processed. Retry shortly.",
                headers={"Retry-After": "1"},
            )
        time.sleep(CLAIM_POLL_SECONDS)  # bounded: the first request is milliseconds ahead


def wait_until_finished(snap: JobSnapshot, seconds: int) -> StatusView:
    """The job's status once it is terminal, or as it is after `seconds`."""
    view = build_status(snap)
    if view.terminal or seconds <= 0:
        return view
    latest = wait_for(
        backend().store,
        snap.record.id,
        lambda s: s is None or build_status(s).terminal,
        seconds,
        backend().read,
    )
    return build_status(latest) if latest is not None else view


def wait_for_change(
    job_id: str, seconds: int, unchanged: Callable[[StatusView], bool]
) -> JobSnapshot | None:
    """The job once its document changes (or after `seconds`); None if it disappeared."""

    def changed(snap: JobSnapshot | None) -> bool:
        if snap is None:
            return True
        view = build_status(snap)  # once per wake-up, not once per test
        return view.terminal or not unchanged(view)

    return wait_for(backend().store, job_id, changed, seconds, backend().read)


def cancel_or_forget(snap: JobSnapshot) -> StatusView | None:
    """Cancel an unfinished job (its new status), or forget a finished one (None)."""
    jobs = backend().store
    view = build_status(snap)
    if view.terminal:
        jobs.forget(snap.record)
        return None
    jobs.request_cancel(snap.record.id, queued=view.state == QUEUED)
    try:
        # Revoke spares a worker the start of a queued job; the flag is what guarantees it.
        backend().celery.control.revoke(snap.record.id)
    except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
        log.warning(
            "revoke of job %s failed (the cancel flag still stops it): %s", snap.record.id, exc
        )
    latest = jobs.read(snap.record.id)
    return build_status(latest if latest is not None else snap)
