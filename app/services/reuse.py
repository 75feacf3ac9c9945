"""Results already computed: answer a deterministic kind's job from a kept result, or let
it follow the identical job running now, while the data version is unchanged.

Called from one place in submit.enqueue (after the job's record is created, before its
task is published) and from cancel (a cancelled leader hands its followers on). The
store side, and what is kept where, is jobs/store/results.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

import kombu.exceptions
import redis
from flask import has_request_context, request
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from app.services.backend import Backend, backend
from jobs.errors import StoreUnavailable
from jobs.kinds import JobKind, NotAsked, Submission
from jobs.store.record import JobRecord, JobSnapshot
from sales.state import version_token
from sales.tables import ready

log = logging.getLogger(__name__)

REUSE = Counter(
    "async_reports_reuse",
    "Submissions of deterministic kinds by how they were answered: hit (a kept result), "
    "shared (followed a running computation), miss (computed; includes no-cache)",
    ["kind", "outcome"],
)
OUTCOMES = {"hit": "hit", "follow": "shared", "lead": "miss"}


def fresh_requested() -> bool:
    """True when the submit asks for a new computation (`Cache-Control: no-cache`)."""
    if not has_request_context():
        return False
    return bool(request.cache_control.no_cache) or "no-cache" in request.headers.get("Pragma", "")


def data_version(b: Backend) -> str:
    """The data version, cached in Redis for every web process: read from the database
    when there is none for the current generation (a completed import bumps it), used
    as it is while fresh (DATA_FINGERPRINT_SECONDS), and while up to twice that old
    used too, as one web process reads it again in the background."""
    fresh = b.settings.data_fingerprint_seconds
    generation, token, stale = b.shares.cached_version(fresh)
    if token is None:
        token = read_version(b, generation)
    elif stale and b.shares.claim_version_read(fresh):
        threading.Thread(target=reread_version, args=(b, generation), daemon=True).start()
    return f"{generation}.{token}"


def read_version(b: Backend, generation: str) -> str:
    """Read the version from the database and cache it."""
    token = version_token(ready(b.kind_services.engine()))
    b.shares.remember_version(generation, token, b.settings.data_fingerprint_seconds)
    return token


def reread_version(b: Backend, generation: str) -> None:
    """read_version in a background thread: a failure is logged, the next submit retries."""
    try:
        read_version(b, generation)
    except (SQLAlchemyError, StoreUnavailable) as exc:
        log.warning("data version not read again: %s", exc)


def digest(kind: JobKind, parameters: dict[str, Any], job_type: str, version: str) -> str:
    """The key of a result: kind, type, normalised parameters, data version."""
    body = {"kind": kind.name, "type": job_type, "parameters": parameters, "version": version}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def applies(kind: JobKind, submission: Submission) -> bool:
    """True when attach() may answer this submission (it checks Redis); False: it never does."""
    if not kind.deterministic or backend().settings.result_reuse_seconds <= 0:
        return False
    return normalised(kind, submission) is not None


def normalised(kind: JobKind, submission: Submission) -> dict[str, Any] | None:
    """The kind's normalised parameters of a submission (None: never shared), asked of
    the kind once per submission."""
    if submission.reuse_parameters is NotAsked.NOT_ASKED:
        submission.reuse_parameters = kind.normalised(submission)
    return submission.reuse_parameters


def attach(kind: JobKind, submission: Submission, record: JobRecord) -> JobSnapshot | None:
    """Settle a created job by reuse: its snapshot when it needs no task of its own (a
    kept result answered it, or it follows a running job), else None (enqueue it)."""
    b = backend()
    if not kind.deterministic or b.settings.result_reuse_seconds <= 0:
        return None
    parameters = normalised(kind, submission)
    if parameters is None:
        return None
    try:
        version = data_version(b)
    except SQLAlchemyError as exc:  # the job computes; the worker reports what is wrong
        log.warning("data version unavailable, job %s computes: %s", record.id, exc)
        return None
    key = digest(kind, parameters, submission.type, version)
    attached = b.shares.attach(record, key, fresh_requested())
    REUSE.labels(kind.name, OUTCOMES.get(attached.outcome, "miss")).inc()
    if attached.outcome == "lead":
        record.reuse = key
        return None
    if attached.outcome == "hit":
        log.info("job %s answered from the result of job %s", record.id, attached.source)
    elif attached.outcome == "follow":
        log.info("job %s follows job %s", record.id, attached.source)
    snap = b.jobs.read(record.id)
    if snap is None:  # the provisional record expired under us: make it the usual way
        return None
    return snap


def hand_over(snap: JobSnapshot) -> None:
    """A leader was cancelled by its owner: its oldest follower computes instead."""
    b = backend()
    if snap.record.reuse is None:
        return
    new = b.shares.handover(snap.record.id)
    if new is None:
        return
    leader = b.jobs.read(new)
    if leader is None:
        return
    kind = b.kinds[leader.record.kind]
    task = kind.task_names()[leader.record.type]
    try:
        b.celery.send_task(task, args=[new, leader.record.parameters], task_id=new)
    except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
        # It stays queued and ends `not-started` after JOB_QUEUE_TIMEOUT.
        log.warning(
            "job %s took over from cancelled job %s but was not enqueued: %s",
            new,
            snap.record.id,
            exc,
        )
        return
    log.info("job %s computes instead of cancelled job %s", new, snap.record.id)
