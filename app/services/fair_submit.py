"""Submitting under fair sharing: quotas, the client's backlog, the hand-over (one place).

For a job that needs no reuse check, admission under the quotas, the record, its
indexes, its backlog entry and the hand-over (which confirms the record and moves the
next jobs in fair order to the in-flight set) are one round trip (fair_submit.lua); the
jobs handed over are published after it. A job that reuse may answer is admitted first,
then created and attached as before, and queued (and handed over) only if it leads.
On a Redis broker the job's message is rendered here and the script pushes it when it
hands the job over (jobs/broker_messages.py); otherwise Celery publishes the jobs
handed over. A publish of this job that fails withdraws it (503, nothing left).
"""

from __future__ import annotations

import logging

from app.http.problems import Problem
from app.services import reuse
from app.services.backend import backend
from jobs.errors import BrokerUnavailable, StoreUnavailable
from jobs.handover import celery_publisher, publish_taken
from jobs.kinds import JobKind, Submission
from jobs.store.fairness import QuotaExceeded, TakeResult
from jobs.store.record import JobRecord, JobSnapshot
from jobs.webhooks.events import emit

log = logging.getLogger(__name__)


def quota_problem(over: QuotaExceeded) -> Problem:
    """429 with Retry-After, its `type` ending in `quota`."""
    if over.quota == "rate":
        detail = (
            f"This client may submit at most {over.limit} jobs per minute "
            "(CLIENT_SUBMITS_PER_MINUTE). Submit again after Retry-After seconds."
        )
        slug = "rate-quota"
    else:
        detail = (
            f"This client has {over.limit} unfinished jobs, its limit "
            "(CLIENT_MAX_UNFINISHED). Wait for some to finish (or cancel some), then "
            "submit again."
        )
        slug = "unfinished-quota"
    return Problem(
        429,
        detail,
        title="Quota exceeded",
        slug=slug,
        headers={"Retry-After": str(over.retry_after)},
    )


def enqueue_fair(kind: JobKind, submission: Submission, record: JobRecord) -> JobSnapshot:
    """Admit, queue and hand over one job; the snapshot the 202 answers with."""
    b = backend()
    s = b.settings
    limits = (s.client_max_unfinished, s.client_submits_per_minute)
    weight = s.weights.get(record.owner, 1)
    priority = submission.priority
    if not reuse.applies(kind, submission):
        message = broker_message(kind, record)
        got = b.fair.submit(record, weight, priority, limits, message)
        if isinstance(got, QuotaExceeded):
            raise quota_problem(got)
    else:
        over = b.fair.admit(record, weight, priority, limits)
        if over is not None:
            raise quota_problem(over)
        b.jobs.create(record)
        shared = reuse.attach(kind, submission, record)
        if shared is not None:
            emit(b.deliveries, shared, kind, "completed")
            return shared
        message = broker_message(kind, record)  # it computes: not for one answered above
        got = b.fair.enqueue(record, weight, priority, message)
    try:
        taken = publish_taken(b.fair, b.kinds, celery_publisher(b.celery), got)
    except BrokerUnavailable:
        if message is not None and record.id not in {j.id for j in got.jobs}:
            # Another job's publish failed: this one was pushed by the script, or waits
            # in its backlog for the next hand-over. It is accepted.
            return accepted_snapshot(record, got)
        try:
            b.fair.withdraw(record)
        except StoreUnavailable:
            log.warning("could not withdraw job %s after a failed hand-over", record.id)
        raise
    return accepted_snapshot(record, taken)


def broker_message(kind: JobKind, record: JobRecord) -> str | None:
    """The job's broker message for the hand-over script to push (a Redis broker that is
    the store's own), or None: Celery publishes it."""
    renderer = backend().broker_messages
    if renderer is None:
        return None
    return renderer.render(kind.task_names()[record.type], record.id, record.parameters)


def accepted_snapshot(record: JobRecord, taken: TakeResult) -> JobSnapshot:
    """The snapshot a 202 answers with: the record and where the hand-over put it."""
    return JobSnapshot(
        record=record,
        celery_meta=None,
        queue_rank=taken.rank,
        mean_duration=taken.mean_duration,
        worker_slots=taken.worker_slots,
        read_at=record.created_at,
    )
