"""One Celery task per job type of every kind, each running worker.runtime.run_job."""

from __future__ import annotations

from typing import Any

from celery import Task

from jobs.failures import JobError
from jobs.kinds import JobKind
from jobs.registry import load_kinds
from worker.celery_app import app
from worker.runtime import SETTINGS, run_job


def _register(kind: JobKind, job_type: str, task_name: str) -> Task:
    def body(self: Task, job_id: str, parameters: dict[str, Any]) -> Any:
        return run_job(self, kind, job_type, job_id, parameters)

    body.__name__ = task_name.replace(".", "_")
    body.__doc__ = f"Run one {kind.name} job of type {job_type}."
    # Job errors are expected outcomes: logged without a traceback.
    return app.task(name=task_name, bind=True, throws=(JobError,))(body)


TASKS = {
    task_name: _register(kind, job_type, task_name)
    for kind in load_kinds(SETTINGS).values()
    for job_type, task_name in kind.task_names().items()
}
