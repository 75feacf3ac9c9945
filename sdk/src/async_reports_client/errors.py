"""One exception tree for the SDK; problem+json answers are mapped onto it in one place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TERMINAL_STATUSES = frozenset({"Complete", "Failed", "Cancelled"})


class AsyncReportsError(Exception):
    """Raised when anything this SDK does fails; every other exception here derives from it.

    `problem` is the RFC 9457 problem-details object the service answered with (or one
    made up for a failure that had no answer), `status` its HTTP status, if any.
    """

    def __init__(
        self, detail: str, *, problem: Mapping[str, Any] | None = None, status: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problem: dict[str, Any] = dict(problem or {})
        self.status = status


class InvalidRequest(AsyncReportsError):
    """Raised when the service rejects a request as malformed or invalid (400, 413, 415, 422).

    `errors` maps each offending field (or header) to its messages.
    """

    @property
    def errors(self) -> dict[str, list[str]]:
        """Messages by field, as the problem's `errors` member gives them."""
        raw = self.problem.get("errors")
        if not isinstance(raw, Mapping):
            return {}
        return {
            str(field): [str(m) for m in (v if isinstance(v, list) else [v])]
            for field, v in raw.items()
        }


class Unauthorized(AsyncReportsError):
    """Raised when the API key is missing or not accepted (401, 403)."""


class NotFound(AsyncReportsError):
    """Raised when the job (or resource) does not exist, or belongs to another client (404)."""


class Gone(AsyncReportsError):
    """Raised when the job existed but its record expired or was deleted (410)."""


class _WithRetryAfter(AsyncReportsError):
    """An error answer that may say when to try again (`retry_after`, seconds)."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class Conflict(_WithRetryAfter):
    """Raised when the resource is not in a state for the request, e.g. a result not ready (409).

    `retry_after` is the service's hint in seconds, when it gave one.
    """


class RateLimited(_WithRetryAfter):
    """Raised when the service kept answering 429 for longer than the client's `retry_for`.

    `retry_after` is the last wait the service asked for, in seconds.
    """


class Unavailable(_WithRetryAfter):
    """Raised when the service stayed unreachable or answered 502/503/504 past `retry_for`."""


class ServerError(AsyncReportsError):
    """Raised when the service answers with an error this client has no better name for (5xx)."""


class Timeout(AsyncReportsError):
    """Raised when the caller's own deadline (`wait(timeout=...)`) passes before the job ends.

    The job goes on running; `document` is the latest status document seen, if any.
    """

    def __init__(self, detail: str, *, document: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.document: dict[str, Any] | None = dict(document) if document is not None else None


class JobFailed(AsyncReportsError):
    """Raised when a job ends `Failed`; `problem` is the job's `error`, `document` its status."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        error = document.get("error")
        problem = dict(error) if isinstance(error, Mapping) else {}
        detail = str(problem.get("detail") or problem.get("title") or "The job failed.")
        super().__init__(detail, problem=problem)
        self.document = dict(document)


class JobCancelled(AsyncReportsError):
    """Raised when a job ends `Cancelled` while it is waited for; `document` is its status."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        super().__init__(f"Job {document.get('id', '?')} was cancelled.")
        self.document = dict(document)


_BY_STATUS: dict[int, type[AsyncReportsError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def problem_of(status: int, content: bytes, reason: str = "") -> dict[str, Any]:
    """The problem-details object of an error answer (one made up if the body is not one)."""
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    text = content.decode("utf-8", "replace").strip()[:300]
    return {"status": status, "title": reason or f"HTTP {status}", "detail": text or reason}


def from_answer(
    status: int, content: bytes, *, reason: str = "", retry_after: float | None = None
) -> AsyncReportsError:
    """The exception for an error answer of the service."""
    problem = problem_of(status, content, reason)
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else AsyncReportsError)
    if issubclass(cls, _WithRetryAfter):
        return cls(detail, problem=problem, status=status, retry_after=retry_after)
    return cls(detail, problem=problem, status=status)


def outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """A finished job's document when it completed; raises JobFailed or JobCancelled otherwise."""
    status = document.get("status")
    if status == "Failed":
        raise JobFailed(document)
    if status == "Cancelled":
        raise JobCancelled(document)
    return dict(document)
