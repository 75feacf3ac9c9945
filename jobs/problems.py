"""Problem-details objects for failures both sides describe (RFC 9457 shape)."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://async-reports.example/problems/"


def problem_type(slug: str) -> str:
    """The `type` URI of one kind of problem."""
    return PROBLEM_BASE + slug


INTERNAL_ERROR: dict[str, Any] = {
    "type": problem_type("internal-error"),
    "title": "The job failed because of an internal error",
    "detail": "The service failed while running this job. Submitting it again may "
    "work; if it fails again, give the job id to the operators.",
}

TIME_LIMIT: dict[str, Any] = {
    "type": problem_type("time-limit"),
    "title": "The job ran past its time limit",
    "detail": "The job did not finish within the time allowed and was stopped. Ask for "
    "less work, or ask the operators to raise the task time limits.",
}

WORKER_LOST: dict[str, Any] = {
    "type": problem_type("worker-lost"),
    "title": "The worker running the job stopped",
    "detail": "The worker process running this job stopped unexpectedly and the job "
    "could not be handed to another one. Submit it again.",
}

NOT_STARTED: dict[str, Any] = {
    "type": problem_type("not-started"),
    "title": "No worker started the job in time",
    "detail": "The job waited longer than the service allows without being started, "
    "and it will not run now. Submit it again; if this repeats, the workers are down "
    "or overloaded.",
}

# Celery exception names (stored in the result, without traceback) -> what we say.
CELERY_FAILURES: dict[str, dict[str, Any]] = {
    "TimeLimitExceeded": TIME_LIMIT,
    "SoftTimeLimitExceeded": TIME_LIMIT,
    "WorkerLostError": WORKER_LOST,
}
