"""build_status: the status document, its ETag and Retry-After, from a JobSnapshot."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.status import MAX_RETRY_AFTER, build_status, retry_after_for
from jobs.problems import INTERNAL_ERROR, TIME_LIMIT, WORKER_LOST
from jobs.states import CANCELLED, FAILED, QUEUED, RETRYING, RUNNING, SUCCEEDED
from jobs.store import JobRecord, JobSnapshot

JOB_ID = "3f0c2a52-7d8e-4c1b-9a6f-0e1d2c3b4a59"
CREATED = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SECONDS = re.compile(r"^[1-9][0-9]* seconds$")


def snapshot(
    meta: dict[str, Any] | None = None,
    *,
    started: float | None = None,
    finished: float | None = None,
    error: dict[str, Any] | None = None,
    mean: float | None = None,
    rank: int | None = None,
    slots: int = 0,
    now: float = CREATED + 10,
) -> JobSnapshot:
    """A yearly-sales job as JobStore.read() would return it."""
    record = JobRecord(
        id=JOB_ID,
        report_type="yearly-sales",
        parameters={"year": "2023"},
        owner="public",
        created_at=CREATED,
        started_at=started,
        finished_at=finished,
        error=error,
    )
    return JobSnapshot(record, meta, rank, mean, slots, read_at=now)


def progress_meta(current: int, total: int) -> dict[str, Any]:
    return {
        "status": "PROGRESS",
        "result": {"current": current, "total": total, "percent": current * 100 // total},
    }


def failure_meta(exc_type: str, message: str) -> dict[str, Any]:
    """What Celery's Redis backend stores for a failed task (JSON serializer)."""
    return {
        "status": "FAILURE",
        "result": {"exc_type": exc_type, "exc_message": [message], "exc_module": "billiard"},
        "traceback": 'Traceback (most recent call last):\n  File "/srv/worker/tasks.py"...',
        "date_done": "2027-01-15T08:00:30.123456+00:00",
    }


# -- state and progress --------------------------------------------------------


def test_a_job_with_no_result_yet_is_queued_with_zero_progress() -> None:
    view = build_status(snapshot())
    doc = view.document
    assert (doc["status"], doc["state"]) == ("In Progress", QUEUED)
    assert doc["progress"] == {"percent": 0, "current": 0, "total": None}
    assert doc["createdAt"] == "2027-01-15T08:00:00Z"
    assert doc["startedAt"] is None and doc["finishedAt"] is None
    assert doc["links"] == {
        "self": f"/api/reports/{JOB_ID}/status",
        "cancel": f"/api/reports/{JOB_ID}",
    }
    assert "reportURL" not in doc and "error" not in doc


def test_progress_comes_from_the_progress_meta() -> None:
    # Given a running job that finished 5 of 15 steps
    view = build_status(snapshot(progress_meta(5, 15), started=CREATED + 1))
    # Then the document shows exactly that
    assert view.state == RUNNING
    assert view.document["progress"] == {"percent": 33, "current": 5, "total": 15}
    assert view.document["startedAt"] == "2027-01-15T08:00:01Z"


def test_started_without_progress_is_running_at_zero() -> None:
    view = build_status(snapshot({"status": "STARTED", "result": {"pid": 1}}, started=CREATED))
    assert view.state == RUNNING
    assert view.document["progress"]["percent"] == 0


def test_retry_is_in_progress_and_retrying() -> None:
    view = build_status(snapshot({"status": "RETRY", "result": {"exc_type": "TransientError"}}))
    assert (view.document["status"], view.state) == ("In Progress", RETRYING)
    assert view.retry_after is not None and view.retry_after >= 1


def test_success_is_complete_with_report_url_and_no_cancel_link() -> None:
    # Given a finished job
    meta = {"status": "SUCCESS", "result": {"months": []}, "date_done": "2027-01-15T08:00:30"}
    view = build_status(snapshot(meta, started=CREATED + 1, finished=CREATED + 30))
    doc = view.document
    # Then it is Complete, links to the download, and is no longer cancellable
    assert (doc["status"], doc["state"]) == ("Complete", SUCCEEDED)
    assert doc["reportURL"] == doc["links"]["report"] == f"/api/reports/{JOB_ID}/download"
    assert "cancel" not in doc["links"]
    assert doc["progress"]["percent"] == 100
    assert doc["finishedAt"] == "2027-01-15T08:00:30Z"
    assert "estimatedTimeRemaining" not in doc
    assert view.terminal and view.retry_after is None


def test_finished_at_falls_back_to_celerys_date_done() -> None:
    # Given a success the worker could not record (no finishedAt in our record)
    meta = {"status": "SUCCESS", "result": {}, "date_done": "2027-01-15T08:00:42.5+00:00"}
    doc = build_status(snapshot(meta)).document
    assert doc["finishedAt"] == "2027-01-15T08:00:42Z"


def test_revoked_is_cancelled_and_terminal() -> None:
    view = build_status(snapshot({"status": "REVOKED", "result": None}))
    assert (view.document["status"], view.state) == ("Cancelled", CANCELLED)
    assert view.terminal and view.retry_after is None
    assert "error" not in view.document and "reportURL" not in view.document


# -- estimates and Retry-After -------------------------------------------------


def test_running_estimate_comes_from_progress_so_far() -> None:
    # Given 5 of 15 steps done in 10 seconds
    view = build_status(snapshot(progress_meta(5, 15), started=CREATED, now=CREATED + 10))
    # Then 10 more steps take about 20 seconds
    assert view.document["estimatedTimeRemaining"] == "20 seconds"
    assert view.retry_after == 5


def test_running_without_progress_uses_recent_durations() -> None:
    view = build_status(
        snapshot({"status": "STARTED"}, started=CREATED, now=CREATED + 4, mean=10.0)
    )
    assert view.document["estimatedTimeRemaining"] == "6 seconds"


def test_running_past_the_usual_duration_still_estimates_at_least_a_second() -> None:
    view = build_status(
        snapshot({"status": "STARTED"}, started=CREATED, now=CREATED + 60, mean=10.0)
    )
    assert SECONDS.match(view.document["estimatedTimeRemaining"])
    assert view.retry_after is not None and view.retry_after >= 1


def test_queued_estimate_counts_the_jobs_ahead_per_worker_slot() -> None:
    # Given 5 jobs ahead, 2 worker slots and jobs of this type taking 6 seconds
    view = build_status(snapshot(rank=5, slots=2, mean=6.0))
    # Then this one starts after 2 full rounds and runs one more: 18 seconds
    assert view.document["estimatedTimeRemaining"] == "18 seconds"


def test_queued_with_no_history_has_no_estimate_but_a_nonzero_retry_after() -> None:
    view = build_status(snapshot(rank=0))
    assert "estimatedTimeRemaining" not in view.document
    assert view.retry_after is not None and view.retry_after >= 1


@pytest.mark.parametrize("estimate", [None, 0.0, 0.01, 0.4, 1.0, 3.0, 17.5, 120.0, 1e6])
def test_retry_after_for_a_queued_job_is_never_zero_and_bounded(estimate: float | None) -> None:
    seconds = retry_after_for(QUEUED, estimate)
    assert seconds is not None
    assert 1 <= seconds <= MAX_RETRY_AFTER


@pytest.mark.parametrize("state", [RUNNING, RETRYING])
@pytest.mark.parametrize("estimate", [None, 0.0, 2.0, 40.0, 3600.0])
def test_retry_after_while_running_is_between_one_and_the_cap(
    state: str, estimate: float | None
) -> None:
    seconds = retry_after_for(state, estimate)
    assert seconds is not None and 1 <= seconds <= MAX_RETRY_AFTER


def test_retry_after_grows_with_the_estimate() -> None:
    short, long = retry_after_for(RUNNING, 2.0), retry_after_for(RUNNING, 100.0)
    assert short is not None and long is not None and short < long


@pytest.mark.parametrize("state", [SUCCEEDED, FAILED, CANCELLED])
def test_no_retry_after_once_terminal(state: str) -> None:
    assert retry_after_for(state, 10.0) is None


# -- ETag ----------------------------------------------------------------------


def test_etag_is_stable_while_only_the_estimate_changes() -> None:
    # Given the same running job read twice, 3 seconds apart, with no new progress
    first = build_status(snapshot(progress_meta(2, 15), started=CREATED, now=CREATED + 4))
    later = build_status(snapshot(progress_meta(2, 15), started=CREATED, now=CREATED + 7))
    # Then the estimate moved but the ETag did not (If-None-Match keeps answering 304)
    assert first.document["estimatedTimeRemaining"] != later.document["estimatedTimeRemaining"]
    assert first.etag == later.etag
    assert first.etag.startswith('W/"') and first.etag.endswith('"')


def test_etag_changes_with_progress_and_with_state() -> None:
    queued = build_status(snapshot())
    step2 = build_status(snapshot(progress_meta(2, 15), started=CREATED))
    step3 = build_status(snapshot(progress_meta(3, 15), started=CREATED))
    done = build_status(snapshot({"status": "SUCCESS", "result": {}}, started=CREATED))
    assert len({queued.etag, step2.etag, step3.etag, done.etag}) == 4


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
    view = build_status(snapshot(failure_meta("DataUnavailable", "x"), error=recorded))
    # Then that is the error clients see, and nothing of Celery's traceback
    assert view.document["status"] == "Failed"
    assert view.document["error"] == recorded
    assert_problem_without_traceback(view.document["error"])


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
    view = build_status(snapshot(failure_meta(exc_type, "Worker exited prematurely")))
    # Then the error is our problem object for that exception, with no traceback
    error = view.document["error"]
    assert error == {k: expected[k] for k in ("type", "title", "detail")}
    assert_problem_without_traceback(error)
    assert "reportURL" not in view.document and view.retry_after is None


def test_failure_with_a_malformed_meta_is_an_internal_error() -> None:
    view = build_status(snapshot({"status": "FAILURE", "result": "not a dict"}))
    assert view.document["error"]["type"] == INTERNAL_ERROR["type"]
    assert view.document["finishedAt"] is None
