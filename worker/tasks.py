"""One Celery task per job type of every kind, each running worker.runtime.run_job."""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.exceptions import TimeLimitExceeded
from celery.signals import task_failure, task_postrun, task_prerun

from jobs.failures import JobError
from jobs.kinds import JobKind
from jobs.registry import load_kinds
from worker.celery_app import app
from worker.fence import release_soft_limit
from worker.runtime import FOLLOWERS, SETTINGS, WITHOUT_WEBHOOK, emit_event, run_job


def _register(kind: JobKind, job_type: str, task_name: str) -> Task:
    def body(self: Task, job_id: str, parameters: dict[str, Any]) -> Any:
        return run_job(self, kind, job_type, job_id, parameters)

    body.__name__ = task_name.replace(".", "_")
    body.__doc__ = f"Run one {kind.name} job of type {job_type}."
    # Job errors are expected outcomes: logged without a traceback. STARTED is stored by
    # the run's claim (worker/runtime.py), not by Celery's tracer: one round trip fewer.
    return app.task(name=task_name, bind=True, throws=(JobError,), track_started=False)(body)


KINDS = load_kinds(SETTINGS)
TASKS = {
    task_name: _register(kind, job_type, task_name)
    for kind in KINDS.values()
    for job_type, task_name in kind.task_names().items()
}


@task_prerun.connect
def _soft_limit_back(**_: Any) -> None:
    """A run dropped by its fence held the soft time limit (worker/fence.py): restore it."""
    release_soft_limit()


@task_postrun.connect
def _completed_webhook(sender: Task | None = None, task_id: str | None = None, **_: Any) -> None:
    """Once Celery stored a job's outcome, record its `completed` webhook (if asked for).

    After the task body the result is not stored yet; here it is, so the delivery's
    body is the job's final document. A retry is not an end: emit() skips it.
    """
    name = getattr(sender, "name", None)
    if task_id is None or name not in TASKS:
        return
    kind, _job_type = KINDS.by_task[name]
    if task_id in WITHOUT_WEBHOOK:  # known from its claim: no webhook, nothing to read
        WITHOUT_WEBHOOK.discard(task_id)
    else:
        emit_event(kind, task_id, "completed")
    for follower in FOLLOWERS.pop(task_id, []):  # they ended with it (result reuse)
        emit_event(kind, follower, "completed")


@task_failure.connect
def _hard_time_limit_webhook(
    sender: Task | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    **_: Any,
) -> None:
    """The hard time limit: when the pool process is killed before it could run its
    postrun (stuck in C code), the worker's main process stored the failure and sends
    this signal; record the job's end here too (a second record of it is a no-op)."""
    name = getattr(sender, "name", None)
    if task_id is None or name not in TASKS or not isinstance(exception, TimeLimitExceeded):
        return
    kind, _job_type = KINDS.by_task[name]
    emit_event(kind, task_id, "completed")
