"""Errors raised while computing reports; each carries a message a client can act on."""

from __future__ import annotations

from typing import Any

from jobs.problems import problem_type


class ReportError(Exception):
    """Raised when a report cannot be produced for a reason the client can act on."""

    slug = "report-failed"
    title = "The report could not be produced"

    def problem(self) -> dict[str, Any]:
        """The error as a problem-details object for the status document."""
        return {"type": problem_type(self.slug), "title": self.title, "detail": str(self)}


class InvalidParameters(ReportError):
    """Raised when a job's parameters do not validate in the worker."""

    slug = "invalid-parameters"
    title = "The report parameters are invalid"


class DataUnavailable(ReportError):
    """Raised when the sales database lacks what the report needs."""

    slug = "data-unavailable"
    title = "The sales data is not available"


class TransientError(ReportError):
    """Raised when a dependency failed in a way that a later retry may fix."""

    slug = "temporarily-unavailable"
    title = "A dependency of the report was temporarily unavailable"


class RepeatedlyLost(ReportError):
    """Raised when a job was redelivered after worker crashes more often than allowed."""

    slug = "worker-lost"
    title = "The worker running the report stopped"


class JobCancelled(Exception):
    """Raised at a checkpoint when the client cancelled the job."""
