"""Errors of the job core; the web maps them to problem details in one place (app/http)."""

from __future__ import annotations


class JobsError(Exception):
    """Base of every error raised by the job core and the job kinds' request handling."""


class StoreUnavailable(JobsError):
    """Raised when the job store (Redis) cannot be reached or does not answer in time."""


class BrokerUnavailable(JobsError):
    """Raised when a job cannot be handed to the broker."""


class DatabaseUnavailable(JobsError):
    """Raised when the sales database cannot be reached or lacks its tables."""


class RequestRejected(JobsError):
    """Raised when a request cannot become a job; nothing was created."""

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidRequest(RequestRejected):
    """Raised when a request is well-formed but its fields do not validate (422)."""


class MalformedRequest(RequestRejected):
    """Raised when a request body cannot be parsed at all (400)."""


class UnsupportedMediaType(RequestRejected):
    """Raised when a request body is not of a media type the kind accepts (415)."""


class PayloadTooLarge(RequestRejected):
    """Raised when a request body is larger than the service accepts (413)."""
