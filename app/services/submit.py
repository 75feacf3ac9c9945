"""Submitting a job of any kind: record it, enqueue it, and honour Idempotency-Key.

A record is created provisionally, the task is published, then the record is confirmed;
if the publish fails, every trace is removed and the client gets 503. With an
Idempotency-Key, the key is claimed (SET NX) before anything is created, so racing
repeats of one request make one job.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import kombu.exceptions
import redis
from flask import request

from app.http.problems import Problem
from app.services import reuse
from app.services.backend import backend
from app.services.fair_submit import enqueue_fair
from jobs.errors import BrokerUnavailable, StoreUnavailable
from jobs.kinds import JobKind, Submission
from jobs.store.idempotency import KeyClaim
from jobs.store.record import JobRecord, JobSnapshot
from jobs.webhooks.events import emit
from jobs.webhooks.request import PRIORITIES

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
# A racing request with the same Idempotency-Key waits this long for the winner's record.
CLAIM_WAIT_SECONDS, CLAIM_POLL_SECONDS = 2.0, 0.05


def check_idempotency_key(key: str | None) -> None:
    """422 for a key the contract does not allow (checked before anything is created)."""
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise Problem(
            422,
            "The request did not validate; see `errors` for each field.",
            errors={"Idempotency-Key": [f"Must be 1 to {MAX_KEY_LENGTH} characters."]},
        )


def query_priority() -> str | None:
    """`?priority=` of a streamed submission (its body is the kind's); 422 if unknown."""
    value = request.args.get("priority")
    if value is not None and value not in PRIORITIES:
        raise Problem(
            422,
            "The request did not validate; see `errors` for each field.",
            errors={"priority": [f"Must be one of: {', '.join(PRIORITIES)}."]},
        )
    return value


def attach_priority(submission: Submission, priority: str | None) -> Submission:
    """The submission with the request's priority; a non-default one counts in its
    fingerprint (Idempotency-Key: the same key with another priority is another body)."""
    if priority is not None and priority != "normal":
        submission.priority = priority
        submission.fingerprint_with(priority)
    return submission


def attach_webhook(submission: Submission, webhook: dict[str, Any] | None) -> Submission:
    """The submission with the request's webhook; it counts in the request's fingerprint."""
    if webhook is not None:
        submission.webhook = webhook
        submission.fingerprint_with(webhook)
    return submission


def submit(
    kind: JobKind, submission: Submission, owner: str, job_id: str, key: str | None
) -> JobSnapshot:
    """Create and enqueue a job, or return the job an earlier request with this key made."""
    if key is None:
        return enqueue(kind, submission, owner, job_id)
    keys = backend().idempotency
    wanted = KeyClaim(job_id, submission.digest())
    try:
        held = keys.claim(owner, kind.name, key, wanted)
    except StoreUnavailable:
        submission.discard()
        raise
    if held is None:
        try:
            return enqueue(kind, submission, owner, job_id)
        except (BrokerUnavailable, StoreUnavailable, Problem):
            # refused (unreachable, or over a quota): a retry with the key may succeed
            keys.release(owner, kind.name, key, wanted)
            raise
    submission.discard()  # the key already stands for a job: this request makes none
    if held.fingerprint != wanted.fingerprint:
        raise Problem(
            422,
            "This Idempotency-Key was used with a different request body.",
            errors={"Idempotency-Key": ["Already used for another request; use a new key."]},
        )
    return _claimed_job(held.job_id)


def enqueue(kind: JobKind, submission: Submission, owner: str, job_id: str) -> JobSnapshot:
    """Record a job, then enqueue it; if the enqueue fails, leave nothing behind."""
    b = backend()
    record = JobRecord(
        id=job_id,
        kind=kind.name,
        type=submission.type,
        parameters=submission.parameters,
        owner=owner,
        created_at=time.time(),
        webhook=submission.webhook,
    )
    if b.settings.fair_sharing:
        try:
            return enqueue_fair(kind, submission, record)
        except BaseException:
            submission.discard()
            raise
    try:
        # The record is provisional (it expires in seconds) until the enqueue succeeded:
        # a create that Redis applies after we gave up (a frozen Redis) leaves nothing.
        b.jobs.create(record)
        shared = reuse.attach(kind, submission, record)
        if shared is not None:
            # answered from a result already computed (ended now), or following one
            emit(b.deliveries, shared, kind, "completed")
            return shared
        _publish(kind, record)
        b.jobs.commit(record)
    except BaseException:
        submission.discard()
        raise
    return JobSnapshot(
        record=record,
        celery_meta=None,
        queue_rank=None,
        mean_duration=None,
        worker_slots=0,
        read_at=record.created_at,
    )


def _publish(kind: JobKind, record: JobRecord) -> None:
    b = backend()
    task = kind.task_names()[record.type]
    args: list[Any] = [record.id, record.parameters]
    try:
        b.celery.send_task(task, args=args, task_id=record.id)
    except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
        log.warning("enqueue of job %s failed: %s", record.id, exc)
        try:
            b.jobs.discard(record)
        except StoreUnavailable:
            log.warning("could not discard job %s; it expires by itself", record.id)
        raise BrokerUnavailable(str(exc)) from exc


def _claimed_job(job_id: str) -> JobSnapshot:
    """The job of an existing claim, waiting briefly while its first request creates it."""
    b = backend()
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while True:
        snap = b.read(job_id)
        if snap is not None:
            return snap
        # The record and its tombstone are written together: a tombstone without a
        # record on a second read means the job was deleted (not that it is being made).
        if b.jobs.existed(job_id) is not None and b.jobs.read(job_id) is None:
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
