"""build_status for failed jobs: the error clients see, recorded by the worker or described
from Celery's meta, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.problems import INTERNAL_ERROR, TIME_LIMIT, WORKER_LOST
from jobs.status import build_status
from kinds.reports import KIND as REPORTS
from tests.unit.support import (
    failure_meta,
    report,
)

# -- failures --------------------------------------------------------------------


def assert_problem_without_traceback(error: dict[str, Any]) -> None:
    assert set(error) == {"type", "title", "detail"}
    assert error["type"].startswith("https://") and error["title"] and error["detail"]
    assert "Traceback" not in str(error) and "tasks.py" not in str(error)


def test_failure_uses_the_error_the_worker_recorded() -> None:
    # Given the worker recorded a problem for this job
    recorded = {
        "type": "https://async-reports.example/problems/data-unavailable",
        "title": "The sales data is not available",
        "detail": "The sales database has no `sales` table.",
    }
    view = build_status(report(failure_meta("DataUnavailable", "x"), error=recorded), REPORTS)
    # Then that is the error clients see, and nothing of Celery's traceback
    assert view.document["status"] == "Failed"
    assert view.document["error"] == recorded
    assert_problem_without_traceback(view.document["error"])


def test_a_recorded_error_shows_only_the_problem_fields() -> None:
    recorded = {"type": "https://x/t", "title": "T", "detail": "D", "traceback": "secret"}
    view = build_status(report(failure_meta("Boom", "x"), error=recorded), REPORTS)
    assert view.document["error"] == {"type": "https://x/t", "title": "T", "detail": "D"}


@pytest.mark.parametrize(
    ("exc_type", "expected"),
    [
        ("TimeLimitExceeded", TIME_LIMIT),
        ("SoftTimeLimitExceeded", TIME_LIMIT),
        ("WorkerLostError", WORKER_LOST),
        ("ZeroDivisionError", INTERNAL_ERROR),
    ],
)
def test_failure_the_worker_could_not_record_is_described_from_celerys_meta(
    exc_type: str, expected: dict[str, Any]
) -> None:
    # Given a job killed from outside (hard time limit, lost worker): no error in the record
    view = build_status(report(failure_meta(exc_type, "Worker exited prematurely")), REPORTS)
    # Then the error is our problem object for that exception, with no traceback
    error = view.document["error"]
    assert error == {k: expected[k] for k in ("type", "title", "detail")}
    assert_problem_without_traceback(error)
    assert "reportURL" not in view.document and view.retry_after is None


def test_failure_with_a_malformed_meta_is_an_internal_error() -> None:
    view = build_status(report({"status": "FAILURE", "result": "not a dict"}), REPORTS)
    assert view.document["error"]["type"] == INTERNAL_ERROR["type"]
    assert view.document["finishedAt"] is None
