"""The body of every job's task, whatever its kind: claim the run, compute, record the outcome.

A kind's computation (its `executor`) gets a JobContext: the job's id, the settings, the
sales database, and `progress()`, which records a step and stops the job when its client
cancelled it. Everything else (redeliveries, cancellation, retries, time limits, the
error a client sees) is handled here once for every kind.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Task
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from jobs.backoff import compute_backoff
from jobs.clients import WorkerClients
from jobs.deadlines import run_deadline
from jobs.errors import BrokerUnavailable, StoreUnavailable
from jobs.failures import (
    JobCancelled,
    JobError,
    RepeatedlyLost,
    TransientError,
)
from jobs.handover import celery_publisher, publish_taken
from jobs.kinds import JobKind
from jobs.problems import INTERNAL_ERROR, TIME_LIMIT
from jobs.registry import Kinds, load_executor, load_kinds
from jobs.settings import Settings
from jobs.store.celery_results import OneTripRedisBackend, started_meta
from jobs.store.record import Progress
from jobs.store.runs import Claim, Superseded
from jobs.webhooks.events import emit
from sales.db import engine_for
from worker.database_errors import classify_database_error
from worker.fence import drop_superseded, record_end

log = logging.getLogger(__name__)

SETTINGS = Settings.from_env()


@functools.cache
def clients() -> WorkerClients:
    """This process's clients (redis-py reconnects by itself after a fork)."""
    return WorkerClients.build(SETTINGS)


@functools.cache
def kinds() -> Kinds:
    """The kinds this deployment serves (to hand any of their jobs over)."""
    return load_kinds(SETTINGS)


def hand_over_next(celery: Any, handed: list[Any] | None = None) -> None:
    """Fair sharing: publish the jobs a claim's script handed over (`handed`, its
    hand-over's reply), or, on a heartbeat, hand the next jobs over first. A failure is
    logged: the next hand-over, anywhere, does it."""
    if not SETTINGS.fair_sharing:
        return
    fair = clients().fair
    try:
        taken = fair.take() if handed is None else fair.result(handed)
        if taken.jobs:
            publish_taken(fair, kinds(), celery_publisher(celery), taken)
    except (BrokerUnavailable, StoreUnavailable, redis.RedisError) as exc:
        log.warning("hand-over of queued jobs failed: %s", exc)


@dataclass
class JobContext:
    """What a job's computation may use, and how it reports progress."""

    job_id: str
    settings: Settings
    kind: JobKind | None = None
    webhook: dict[str, Any] | None = None  # the job's, once claimed
    attempt: int = 0  # the claim of this run: its writes are refused once superseded
    leads: bool = True  # its claim's: others may follow this run (result reuse); True until known
    started: float = field(default_factory=time.monotonic)
    last: Progress | None = None
    mark: tuple[int, float] | None = None  # the first step recorded: (current, when)

    def engine(self) -> Engine:
        """The sales database (one engine per process)."""
        return engine_for(self.settings.database_url)

    def progress(self, current: int, total: int | None, percent: int | None = None) -> None:
        """Record a step; raises JobCancelled when the client cancelled the job."""
        if percent is None:
            percent = int(current * 100 / total) if total else 0
        if self.mark is None and current > 0:
            self.mark = (current, time.time())
        self.last = Progress(current, total, max(0, min(100, percent)), self.mark)
        try:
            keep_going = clients().ledger.step(self.job_id, self.last, self.attempt)
        except (StoreUnavailable, redis.RedisError) as exc:
            # Progress is a courtesy; a Redis blip must not fail the job.
            log.warning("job %s: progress not recorded: %s", self.job_id, exc)
            return
        if not keep_going:
            raise JobCancelled(self.job_id)
        if self.kind is not None and self.webhook and "progress" in self.webhook["events"]:
            emit_event(self.kind, self.job_id, "progress")

    def completed(self, total: int) -> None:
        """The work is done: `total` units of it (written with the outcome)."""
        self.last = Progress(total, total, 100)

    def final_progress(self) -> Progress:
        """The progress of a job that completed: all of it."""
        last = self.last or Progress(0, 0, 100)
        done = last.total if last.total is not None else last.current
        return Progress(done, done, 100)


def emit_event(kind: JobKind, job_id: str, event: str) -> dict[str, Any] | None:
    """Record the webhook delivery of `event` if the job asked for it; the job's webhook."""
    try:
        snap = clients().jobs.read(job_id)
    except (StoreUnavailable, redis.RedisError) as exc:
        log.warning("job %s: not read for its webhook %s: %s", job_id, event, exc)
        return None
    emit(clients().deliveries, snap, kind, event)
    return snap.record.webhook if snap is not None else None


# Leader job id -> the jobs following it, read as its computation ends (its outcome is
# passed on to them then); the task's postrun sends their webhooks with its own.
FOLLOWERS: dict[str, list[str]] = {}


def note_followers(kind: JobKind, job_id: str) -> None:
    """Remember who follows a leader whose computation just ended (reuse, if any)."""
    if not kind.deterministic:
        return
    try:
        followers = clients().ledger.shares.followers_of(job_id)
    except (StoreUnavailable, redis.RedisError) as exc:
        log.warning("job %s: followers not read for their webhooks: %s", job_id, exc)
        return
    if followers:
        FOLLOWERS[job_id] = followers


def retry_delay(retries: int) -> float:
    """Backoff before a retry, capped at 60 s and at half the visibility timeout: a
    worker holds a retry unacknowledged until its countdown ends, and Redis would hand
    it to a second worker after that."""
    return compute_backoff(retries, cap=min(60.0, SETTINGS.visibility_timeout / 2))


# Jobs this process claimed that asked for no webhook: their `completed` event (the
# task's postrun, worker/tasks.py) needs no read of the job. Popped by the postrun.
WITHOUT_WEBHOOK: set[str] = set()


def _claim(task: Task, ctx: JobContext) -> dict[str, Any] | None:
    """Claim the run (its attempt, in ctx; its webhook, returned), or end this delivery
    (Ignore) when it must not run."""
    job_id = ctx.job_id
    margin = SETTINGS.fair_broker_margin
    worker = task.request.hostname or "worker"
    # This job leaves the in-flight set: the claim refills it in the same round trip,
    # in batches of half the margin (while half the margin still waits in the broker).
    refill = (max(1, margin // 2), clients().fair.request()) if SETTINGS.fair_sharing else None
    # Celery's STARTED is stored by the claim (the job tasks do not track it themselves,
    # worker/tasks.py): the same meta, expiry and message, in the claim's round trip.
    started = (started_meta(job_id, os.getpid(), worker), SETTINGS.retention_seconds)
    (outcome, attempts, webhook, leads), handed = clients().ledger.claim_and_refill(
        job_id, worker, run_deadline(SETTINGS), margin, refill, started
    )
    if outcome is Claim.RUN:
        ctx.attempt, ctx.leads = attempts, leads
    if handed:
        hand_over_next(task.app, handed)
    # A revoke can be lost (it lives in the workers' memory); the flag, which the
    # claim checks in the same round trip, cannot.
    if outcome is Claim.CANCELLED:
        raise JobCancelled(job_id)
    if outcome is not Claim.RUN:
        # A redelivery of a job that already ended, or of one whose record is gone:
        # running it again would duplicate (or resurrect) it. Ack it and move on.
        log.warning("job %s is %s; dropping this delivery", job_id, outcome)
        if outcome is Claim.MISSING:  # expired unrun: end it for the monitor and Flower
            task.send_event("task-revoked", terminated=False, expired=True)
        raise Ignore()
    deliveries = attempts - task.request.retries
    if deliveries > SETTINGS.task_max_deliveries:
        raise RepeatedlyLost(
            f"The job was started {deliveries - 1} times and the worker running it "
            "stopped each time (it may need more memory than a worker has). It will "
            "not be tried again; ask for less work or tell the operators."
        )
    return webhook


def run_job(
    task: Task, kind: JobKind, job_type: str, job_id: str, parameters: dict[str, Any]
) -> Any:
    """The body of every job's task."""
    ledger = clients().ledger
    label = f"{kind.name}:{job_type}"
    ctx = JobContext(job_id, SETTINGS, kind)

    def end(error: dict[str, Any] | None = None) -> None:
        record_end(
            job_id,
            lambda: ledger.finish(job_id, label, None, error, attempt=ctx.attempt, leads=ctx.leads),
        )

    try:
        ctx.webhook = _claim(task, ctx)
        if ctx.webhook is None:
            WITHOUT_WEBHOOK.add(job_id)
        elif "started" in ctx.webhook["events"]:
            emit_event(kind, job_id, "started")
        try:
            result = load_executor(kind)(ctx, job_type, parameters)
        except (DBAPIError, NoSuchTableError) as exc:
            raise classify_database_error(exc) from exc
        finally:
            if ctx.leads:
                note_followers(kind, job_id)
    except (Ignore, Reject):
        raise
    except Superseded:
        drop_superseded(job_id)
    except JobCancelled:
        log.info("job %s cancelled by its client", job_id)
        end()
        task.backend.mark_as_revoked(job_id, "cancelled by the client", request=task.request)
        # Ignore sends no event: tell the monitor (and Flower) the job ended revoked.
        task.send_event("task-revoked", terminated=False, expired=False)
        # Ignore: Celery acks the message and keeps the REVOKED state stored above.
        raise Ignore() from None
    except TransientError as exc:
        if task.request.retries < SETTINGS.task_max_retries:
            log.warning("job %s: %s; retrying", job_id, exc)
            raise task.retry(exc=exc, countdown=retry_delay(task.request.retries)) from exc
        end(exc.problem())
        raise
    except JobError as exc:
        end(exc.problem())
        raise
    except SoftTimeLimitExceeded:
        limit = SETTINGS.task_soft_time_limit
        detail = (
            f"The job did not finish within {limit} seconds and was stopped. Ask for less "
            "work (a smaller range or file), or ask the operators to raise TASK_SOFT_TIME_LIMIT."
        )
        end({**TIME_LIMIT, "detail": detail})
        raise
    except Exception:
        log.exception("job %s failed with an internal error", job_id)
        end(INTERNAL_ERROR)
        raise
    done = ctx.final_progress()
    took = time.monotonic() - ctx.started
    # The result is stored with the record's end (Celery's own write after this would find
    # it stored, and is skipped): a run cut off here leaves the job unfinished, not
    # finished without it. A run that leads no shared computation reads no followers.
    stored = record_end(
        job_id,
        lambda: ledger.finish(
            job_id, label, took, progress=done, attempt=ctx.attempt, result=result, leads=ctx.leads
        ),
    )
    if stored and isinstance(task.backend, OneTripRedisBackend):
        task.backend.stored_with_record(job_id)
    keep = kind.deterministic and ctx.leads
    ledger.succeeded(job_id, result, done, keep=keep, changes_data=kind.changes_data)
    return result
