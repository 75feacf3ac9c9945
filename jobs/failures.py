"""Errors a job's computation raises; each carries a message its client can act on.

Every kind's worker half raises these; the worker runtime turns them into
the `error` of the job's status document.
"""

from __future__ import annotations

from typing import Any

from jobs.problems import problem_type


class JobError(Exception):
    """Raised when a job cannot be completed for a reason its client can act on."""

    slug = "job-failed"
    title = "The job could not be completed"

    def problem(self) -> dict[str, Any]:
        """The error as a problem-details object for the status document."""
        return {"type": problem_type(self.slug), "title": self.title, "detail": str(self)}


class ReportError(JobError):
    """Raised when a report cannot be produced for a reason the client can act on."""

    slug = "report-failed"
    title = "The report could not be produced"


class InvalidParameters(JobError):
    """Raised when a job's parameters do not validate in the worker."""

    slug = "invalid-parameters"
    title = "The job's parameters are invalid"


class DataUnavailable(JobError):
    """Raised when the sales database lacks what the job needs."""

    slug = "data-unavailable"
    title = "The sales data is not available"


class TransientError(JobError):
    """Raised when a dependency failed in a way that a later retry may fix."""

    slug = "temporarily-unavailable"
    title = "A dependency of the job was temporarily unavailable"


class RepeatedlyLost(JobError):
    """Raised when a job was redelivered after worker crashes more often than allowed."""

    slug = "worker-lost"
    title = "The worker running the job stopped"


class JobCancelled(Exception):
    """Raised at a checkpoint when the client cancelled the job."""
