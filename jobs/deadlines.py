"""Bounds on how long a job may stay In Progress, so a lost job ends in Failed.

A worker that claims a job writes a deadline on its record: the time by which the job
must have finished or been claimed again after a redelivery. That is the broker's
visibility timeout (after which Redis hands an unacknowledged job to another worker)
plus the interval at which workers restore such messages, plus slack; on RabbitMQ, the
hard time limit or three heartbeats, whichever is longer, plus slack. A job that was
never claimed is bounded by JOB_QUEUE_TIMEOUT from its submission. Whoever reads an
overdue job (the web, on a status read) moves it to Failed, atomically and only if the
record still shows the deadline it read; a worker never runs a job marked finished.
"""

from __future__ import annotations

import time
from typing import Any

from jobs.celery_config import BROKER_HEARTBEAT, is_amqp
from jobs.problems import NOT_STARTED, WORKER_LOST
from jobs.settings import Settings
from jobs.states import state_for
from jobs.store.record import JobSnapshot

# Time for a restored job to reach a worker and be claimed again.
CLAIM_SLACK = 10.0


def redelivery_bound(settings: Settings) -> float:
    """Seconds from a claim until the job must have finished or been claimed again."""
    if is_amqp(settings.broker_url):
        # RabbitMQ has no visibility timeout: a healthy run holds its delivery up to the
        # hard time limit, and a lost worker's comes back when RabbitMQ closes the silent
        # connection (about two missed heartbeats; three allowed).
        return max(settings.task_time_limit, 3 * BROKER_HEARTBEAT) + CLAIM_SLACK
    return settings.visibility_timeout + settings.restore_interval + CLAIM_SLACK


def run_deadline(settings: Settings, now: float | None = None) -> float:
    """The deadline a worker writes when it starts (or restarts) a job."""
    return (time.time() if now is None else now) + redelivery_bound(settings)


def overdue_problem(
    snap: JobSnapshot, settings: Settings, now: float | None = None
) -> dict[str, Any] | None:
    """The error to fail a job with if it is past its bound, else None."""
    rec = snap.record
    # A record that says finished without an error, a cancellation or Celery's final
    # result is of a run cut off before its result was stored: not finished.
    ended = rec.finished_at is not None and (rec.error is not None or rec.cancel_requested)
    if ended or state_for(snap.celery_state).terminal:
        return None
    now = time.time() if now is None else now
    if rec.deadline is not None:
        if now <= rec.deadline:
            return None
        bound = redelivery_bound(settings)
        return {
            **WORKER_LOST,
            "detail": "The worker running this job stopped, and no worker restarted the "
            f"job within {bound:.0f} seconds. It will not run now; submit it again.",
        }
    if now - rec.created_at <= settings.job_queue_timeout:
        return None
    return {
        **NOT_STARTED,
        "detail": f"No worker started this job within {settings.job_queue_timeout} "
        "seconds of its submission, and it will not run now. Submit it again; if this "
        "repeats, the workers are down or overloaded.",
    }
