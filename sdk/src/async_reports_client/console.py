"""What the CLI says and how it exits: its exit codes, messages and error reports."""

from __future__ import annotations

import sys

from async_reports_client import errors

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5
EXIT_UNAVAILABLE = 6
EXIT_UNAUTHORIZED = 7
EXIT_ERROR = 8
EXIT_INTERRUPTED = 130

PROG = "async-reports"
_EXIT_BY_ERROR: tuple[tuple[type[errors.AsyncReportsError], int], ...] = (
    (errors.JobFailed, EXIT_FAILED),
    (errors.JobCancelled, EXIT_CANCELLED),
    (errors.InvalidRequest, EXIT_USAGE),
    (errors.NotFound, EXIT_NOT_FOUND),
    (errors.Gone, EXIT_NOT_FOUND),
    (errors.Timeout, EXIT_TIMEOUT),
    (errors.Unavailable, EXIT_UNAVAILABLE),
    (errors.RateLimited, EXIT_UNAVAILABLE),
    (errors.Unauthorized, EXIT_UNAUTHORIZED),
)


class UsageError(Exception):
    """Raised when the command line itself is wrong (exit code 2)."""


def exit_code_for(error: errors.AsyncReportsError) -> int:
    """The documented exit code of an SDK error."""
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(error, cls):
            return code
    return EXIT_ERROR


def say(*parts: object) -> None:
    """A message for the person at the terminal (stderr, never mixed into the output)."""
    print(*parts, file=sys.stderr, flush=True)


def report(error: errors.AsyncReportsError) -> None:
    """Print an error from its problem's detail (never a traceback)."""
    if isinstance(error, errors.JobFailed):
        title = error.problem.get("title") or "Failed"
        say(f"{PROG}: the job failed: {title}: {error.detail}")
    elif isinstance(error, errors.JobCancelled):
        say(f"{PROG}: {error.detail}")
    else:
        say(f"{PROG}: error: {error.detail}")
    if isinstance(error, errors.InvalidRequest):
        for field, messages in error.errors.items():
            say(f"    {field}: {' '.join(messages)}")
