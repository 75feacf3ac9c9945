"""One thin Celery task per report type: validate, compute in steps, record the outcome."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
from typing import Any

import redis
from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from jobs.catalogue import REPORT_TYPES, ReportType
from jobs.deadlines import run_deadline
from jobs.errors import StoreUnavailable
from jobs.keys import Keys
from jobs.problems import INTERNAL_ERROR, TIME_LIMIT
from jobs.states import PROGRESS
from jobs.store import JobStore, connect
from worker.celery_app import app, settings
from worker.db import engine_for
from worker.errors import (
    DataUnavailable,
    InvalidParameters,
    JobCancelled,
    RepeatedlyLost,
    ReportError,
    TransientError,
)
from worker.reports import COMPUTATIONS

log = logging.getLogger(__name__)

# Seconds a worker keeps retrying a Redis command: enough to ride out a Redis restart.
WORKER_REDIS_PATIENCE = 15.0


@functools.cache
def store() -> JobStore:
    """This process's job store (redis-py reconnects by itself after a fork)."""
    return JobStore(
        connect(settings.result_backend_url, settings.redis_timeout, WORKER_REDIS_PATIENCE),
        Keys(settings.key_prefix),
        settings.retention_seconds,
        settings.tombstone_seconds,
    )


def backoff(retries: int) -> float:
    """Exponential backoff with jitter: 1, 2, 4, 8 ... seconds, capped at 60.

    Also capped at half the visibility timeout: a worker holds a retry unacknowledged
    until its countdown ends, and Redis would hand it to a second worker after that.
    """
    cap = min(60.0, settings.visibility_timeout / 2)
    return random.uniform(0.5, 1.0) * min(cap, 2.0**retries)


def classify_database_error(exc: DBAPIError | NoSuchTableError) -> ReportError:
    """Tell a missing table (permanent) from a connection problem (worth a retry)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if (
        isinstance(exc, NoSuchTableError)
        or "no such table" in text
        or ("relation" in text and "does not exist" in text)
    ):
        return DataUnavailable(
            "The sales database has no `sales` table. Ask the operators to load the sales "
            "data (see the README: the seed command), then submit the report again."
        )
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or "connect" in text or "could not" in text or "timeout" in text
    ):
        return TransientError("The sales database could not be reached.")
    return ReportError("The sales database rejected a query of this report.")


def run_report(
    task: Task, report_type: ReportType, job_id: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The body of every report task."""
    jobs = store()
    started = time.monotonic()
    try:
        # A revoke can be lost (it lives in the workers' memory); the flag, which the
        # claim checks in the same round trip, cannot.
        outcome, attempts = jobs.claim(
            job_id, task.request.hostname or "worker", run_deadline(settings)
        )
        if outcome == "cancelled":
            raise JobCancelled(job_id)
        if outcome != "run":
            # A redelivery of a job that already ended, or of one whose record is gone:
            # running it again would duplicate (or resurrect) it. Ack it and move on.
            log.warning("job %s is %s; dropping this delivery", job_id, outcome)
            if outcome == "missing":  # expired unrun: end it for the monitor and Flower
                task.send_event("task-revoked", terminated=False, expired=True)
            raise Ignore()
        deliveries = attempts - task.request.retries
        if deliveries > settings.task_max_deliveries:
            raise RepeatedlyLost(
                f"The job was started {deliveries - 1} times and the worker running it "
                "stopped each time (it may need more memory than a worker has). It will "
                "not be tried again; ask for a smaller report or tell the operators."
            )
        try:
            params = report_type.schema.load(parameters)
        except ValidationError as exc:
            raise InvalidParameters(f"Invalid parameters: {exc.messages}") from None

        def on_step(current: int, total: int) -> None:
            percent = int(current * 100 / total) if total else 100
            try:
                if jobs.cancel_requested(job_id):
                    raise JobCancelled(job_id)
                task.update_state(
                    state=PROGRESS,
                    meta={
                        "current": current,
                        "total": total,
                        "percent": percent,
                        "elapsed": round(time.monotonic() - started, 3),
                    },
                )
                jobs.notify(job_id)
            except (StoreUnavailable, redis.RedisError) as exc:
                # Progress is a courtesy; a Redis blip must not fail the report.
                log.warning("job %s: progress not recorded: %s", job_id, exc)

        try:
            data = COMPUTATIONS[report_type.name](
                engine_for(settings.database_url), params, on_step
            )
        except (DBAPIError, NoSuchTableError) as exc:
            raise classify_database_error(exc) from exc
    except Ignore:
        raise
    except JobCancelled:
        log.info("job %s cancelled by its client", job_id)
        jobs.mark_finished(job_id, report_type.name, None)
        task.backend.mark_as_revoked(job_id, "cancelled by the client", request=task.request)
        # Ignore sends no event: tell the monitor (and Flower) the job ended revoked.
        task.send_event("task-revoked", terminated=False, expired=False)
        # Ignore: Celery acks the message and keeps the REVOKED state stored above.
        raise Ignore() from None
    except TransientError as exc:
        if task.request.retries < settings.task_max_retries:
            log.warning("job %s: %s; retrying", job_id, exc)
            raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from exc
        jobs.mark_finished(job_id, report_type.name, None, exc.problem())
        raise
    except ReportError as exc:
        jobs.mark_finished(job_id, report_type.name, None, exc.problem())
        raise
    except SoftTimeLimitExceeded:
        jobs.mark_finished(
            job_id,
            report_type.name,
            None,
            {
                **TIME_LIMIT,
                "detail": f"The report did not finish within {settings.task_soft_time_limit} "
                "seconds and was stopped. Ask for a smaller range, or ask the "
                "operators to raise TASK_SOFT_TIME_LIMIT.",
            },
        )
        raise
    except Exception:
        log.exception("job %s failed with an internal error", job_id)
        jobs.mark_finished(job_id, report_type.name, None, INTERNAL_ERROR)
        raise
    jobs.mark_finished(job_id, report_type.name, time.monotonic() - started)
    return {
        "reportType": report_type.name,
        "parameters": parameters,
        "generatedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        **data,
    }


def _register(report_type: ReportType) -> Task:
    def body(self: Task, job_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
        return run_report(self, report_type, job_id, parameters)

    body.__name__ = report_type.task_name.replace(".", "_")
    body.__doc__ = f"Compute a {report_type.name} report for one job."
    # Report errors are expected outcomes: logged without a traceback.
    return app.task(name=report_type.task_name, bind=True, throws=(ReportError,))(body)


TASKS = {name: _register(rt) for name, rt in REPORT_TYPES.items()}
