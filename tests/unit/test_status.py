"""build_status: the status document, its ETag and Retry-After, from a JobSnapshot and its kind."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jobs.polling import MAX_RETRY_AFTER, retry_after_for
from jobs.problems import INTERNAL_ERROR, TIME_LIMIT, WORKER_LOST
from jobs.states import State
from jobs.status import build_status
from jobs.store import JobSnapshot, Progress
from kinds.imports import KIND as IMPORTS
from kinds.reports import KIND as REPORTS
from tests.unit.support import progress, record, snapshot

JOB_ID = "3f0c2a52-7d8e-4c1b-9a6f-0e1d2c3b4a59"
CREATED = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SECONDS = re.compile(r"^[1-9][0-9]* seconds$")
SUCCESS = {"status": "SUCCESS", "result": {"months": []}, "date_done": "2027-01-15T08:00:30"}


def report(
    meta: dict[str, Any] | None = None,
    *,
    started: float | None = None,
    finished: float | None = None,
    error: dict[str, Any] | None = None,
    steps: Progress | None = None,
    mean: float | None = None,
    rank: int | None = None,
    slots: int = 0,
    now: float = CREATED + 10,
) -> JobSnapshot:
    """A yearly-sales job as JobStore.read() would return it."""
    rec = record(
        JOB_ID,
        owner="public",
        created=CREATED,
        started_at=started,
        finished_at=finished,
        error=error,
        progress=steps,
    )
    return snapshot(rec, meta, mean=mean, rank=rank, slots=slots, now=now)


def failure_meta(exc_type: str, message: str) -> dict[str, Any]:
    """What Celery's Redis backend stores for a failed task (JSON serializer)."""
    return {
        "status": "FAILURE",
        "result": {"exc_type": exc_type, "exc_message": [message], "exc_module": "billiard"},
        "traceback": 'Traceback (most recent call last):\n  File "/srv/worker/tasks.py"...',
        "date_done": "2027-01-15T08:00:30.123456+00:00",
    }


# -- the document ----------------------------------------------------------------


def test_a_job_with_no_result_yet_is_queued_with_zero_progress() -> None:
    view = build_status(report(), REPORTS)
    doc = view.document
    assert (doc["status"], doc["state"]) == ("In Progress", "queued")
    assert doc["progress"] == {"percent": 0, "current": 0, "total": None, "unit": "steps"}
    assert doc["createdAt"] == "2027-01-15T08:00:00Z"
    assert doc["startedAt"] is None and doc["finishedAt"] is None
    assert doc["links"] == {
        "self": f"/api/reports/{JOB_ID}/status",
        "cancel": f"/api/reports/{JOB_ID}",
    }
    assert "reportURL" not in doc and "error" not in doc


def test_the_document_names_its_kind_right_after_the_id_then_the_kinds_fields() -> None:
    doc = build_status(report(), REPORTS).document
    assert list(doc)[:7] == [
        "id",
        "kind",
        "reportType",
        "parameters",
        "status",
        "state",
        "progress",
    ]
    assert (doc["id"], doc["kind"], doc["reportType"]) == (JOB_ID, "report", "yearly-sales")
    assert doc["parameters"] == {"year": "2023"}


def test_the_document_serialises_to_plain_json_strings() -> None:
    doc = build_status(report({"status": "STARTED"}, started=CREATED), REPORTS).document
    parsed = json.loads(json.dumps(doc))
    assert (parsed["status"], parsed["state"]) == ("In Progress", "running")


def test_progress_comes_from_the_job_record() -> None:
    # Given a running job that recorded 5 of 15 steps
    view = build_status(
        report({"status": "STARTED"}, started=CREATED + 1, steps=progress(5, 15)), REPORTS
    )
    # Then the document shows exactly that, in the kind's unit
    assert view.state is State.RUNNING
    assert view.document["progress"] == {"percent": 33, "current": 5, "total": 15, "unit": "steps"}
    assert view.document["startedAt"] == "2027-01-15T08:00:01Z"


def test_a_progress_result_of_an_earlier_version_is_running_with_the_records_progress() -> None:
    # Given a job whose Celery result is the PROGRESS state earlier versions stored
    meta = {"status": "PROGRESS", "result": {"current": 9, "total": 15, "percent": 60}}
    view = build_status(report(meta, started=CREATED), REPORTS)
    # Then it is running; progress is the record's (none recorded), not Celery's
    assert view.state is State.RUNNING
    assert view.document["progress"] == {"percent": 0, "current": 0, "total": None, "unit": "steps"}


def test_started_without_progress_is_running_at_zero() -> None:
    view = build_status(
        report({"status": "STARTED", "result": {"pid": 1}}, started=CREATED), REPORTS
    )
    assert view.state is State.RUNNING
    assert view.document["progress"]["percent"] == 0


def test_retry_is_in_progress_and_retrying() -> None:
    view = build_status(
        report({"status": "RETRY", "result": {"exc_type": "TransientError"}}), REPORTS
    )
    assert (view.document["status"], view.state) == ("In Progress", State.RETRYING)
    assert view.retry_after is not None and view.retry_after >= 1


def test_success_is_complete_with_report_url_and_no_cancel_link() -> None:
    # Given a finished job
    view = build_status(
        report(SUCCESS, started=CREATED + 1, finished=CREATED + 30, steps=progress(15, 15)),
        REPORTS,
    )
    doc = view.document
    # Then it is Complete, links to the download, and is no longer cancellable
    assert (doc["status"], doc["state"]) == ("Complete", "succeeded")
    assert doc["reportURL"] == doc["links"]["report"] == f"/api/reports/{JOB_ID}/download"
    assert "cancel" not in doc["links"]
    assert doc["progress"] == {"percent": 100, "current": 15, "total": 15, "unit": "steps"}
    assert doc["finishedAt"] == "2027-01-15T08:00:30Z"
    assert "estimatedTimeRemaining" not in doc
    assert view.terminal and view.retry_after is None


def test_a_success_shows_all_of_its_work_done_whatever_the_last_step_said() -> None:
    # Given a job whose last recorded step was 12 of 15 (or that recorded only counts)
    near = build_status(report(SUCCESS, steps=progress(12, 15)), REPORTS).document
    counted = build_status(report(SUCCESS, steps=Progress(40, None, 0)), REPORTS).document
    # Then once it succeeded its progress is total of total, 100 %
    assert near["progress"] == {"percent": 100, "current": 15, "total": 15, "unit": "steps"}
    assert counted["progress"] == {"percent": 100, "current": 40, "total": 40, "unit": "steps"}


def test_a_failed_job_shows_the_progress_it_reached() -> None:
    meta = failure_meta("DataUnavailable", "x")
    view = build_status(report(meta, started=CREATED, steps=progress(3, 15)), REPORTS)
    assert view.state is State.FAILED
    assert view.document["progress"] == {"percent": 20, "current": 3, "total": 15, "unit": "steps"}


def test_a_cancelled_job_shows_the_progress_it_reached() -> None:
    meta = {"status": "REVOKED", "result": None}
    view = build_status(report(meta, started=CREATED, steps=progress(6, 15)), REPORTS)
    assert view.state is State.CANCELLED
    assert view.document["progress"]["current"] == 6 and view.document["progress"]["percent"] == 40


def test_finished_at_falls_back_to_celerys_date_done() -> None:
    # Given a success the worker could not record (no finishedAt in our record)
    meta = {"status": "SUCCESS", "result": {}, "date_done": "2027-01-15T08:00:42.5+00:00"}
    doc = build_status(report(meta), REPORTS).document
    assert doc["finishedAt"] == "2027-01-15T08:00:42Z"


def test_revoked_is_cancelled_and_terminal() -> None:
    view = build_status(report({"status": "REVOKED", "result": None}), REPORTS)
    assert (view.document["status"], view.state) == ("Cancelled", State.CANCELLED)
    assert view.terminal and view.retry_after is None
    assert "error" not in view.document and "reportURL" not in view.document


# -- another kind: the document follows the kind's declaration -------------------


def an_import(meta: dict[str, Any] | None = None, steps: Progress | None = None) -> JobSnapshot:
    rec = record(
        JOB_ID,
        kind="import",
        type="sales-csv",
        parameters={"maxBadRows": 0},
        created=CREATED,
        started_at=CREATED,
        progress=steps,
    )
    return snapshot(rec, meta, now=CREATED + 10)


def test_an_import_is_described_by_its_own_fields_links_and_unit() -> None:
    doc = build_status(an_import({"status": "STARTED"}, progress(250, 1000)), IMPORTS).document
    assert list(doc)[:3] == ["id", "kind", "parameters"] and doc["kind"] == "import"
    assert "reportType" not in doc
    assert doc["progress"] == {"percent": 25, "current": 250, "total": 1000, "unit": "rows"}
    assert doc["links"] == {
        "self": f"/api/imports/{JOB_ID}/status",
        "cancel": f"/api/imports/{JOB_ID}",
    }
    assert "errorsURL" not in doc


def test_a_completed_import_adds_its_counts_and_its_errors_resource() -> None:
    result = {"rowsRead": 10, "rowsImported": 9, "rowsRejected": 1, "extra": "not shown"}
    doc = build_status(an_import({"status": "SUCCESS", "result": result}), IMPORTS).document
    assert doc["result"] == {
        "rowsRead": 10,
        "rowsImported": 9,
        "rowsRejected": 1,
        "firstSoldAt": None,
        "lastSoldAt": None,
    }
    assert doc["errorsURL"] == doc["links"]["errors"] == f"/api/imports/{JOB_ID}/errors"


def test_a_failed_import_still_links_its_errors_but_has_no_counts() -> None:
    doc = build_status(an_import(failure_meta("TooManyBadRows", "x")), IMPORTS).document
    assert doc["status"] == "Failed"
    assert doc["errorsURL"] == f"/api/imports/{JOB_ID}/errors"
    assert "result" not in doc


# -- estimates and Retry-After -------------------------------------------------


def test_running_estimate_comes_from_progress_so_far() -> None:
    # Given 5 of 15 steps done in 10 seconds
    snap = report({"status": "STARTED"}, started=CREATED, steps=progress(5, 15), now=CREATED + 10)
    view = build_status(snap, REPORTS)
    # Then 10 more steps take about 20 seconds
    assert view.document["estimatedTimeRemaining"] == "20 seconds"
    # And the next poll is aimed past the soonest end (one step more: 9 steps at 10/6 s)
    assert view.retry_after == 16


def test_running_without_progress_uses_recent_durations() -> None:
    snap = report({"status": "STARTED"}, started=CREATED, now=CREATED + 4, mean=10.0)
    assert build_status(snap, REPORTS).document["estimatedTimeRemaining"] == "6 seconds"


def test_running_past_the_usual_duration_still_estimates_at_least_a_second() -> None:
    view = build_status(
        report({"status": "STARTED"}, started=CREATED, now=CREATED + 60, mean=10.0), REPORTS
    )
    assert SECONDS.match(view.document["estimatedTimeRemaining"])
    assert view.retry_after is not None and view.retry_after >= 1


def test_a_count_past_its_estimated_total_estimates_at_least_a_second() -> None:
    # Given an import that read more rows than it estimated the file to hold
    snap = report({"status": "STARTED"}, started=CREATED, steps=Progress(120, 100, 99))
    view = build_status(snap, REPORTS)
    assert view.document["estimatedTimeRemaining"] == "1 seconds"
    assert view.retry_after == 1


def test_queued_estimate_counts_the_jobs_ahead_per_worker_slot() -> None:
    # Given 5 jobs ahead, 2 worker slots and jobs of this type taking 6 seconds
    view = build_status(report(rank=5, slots=2, mean=6.0), REPORTS)
    # Then this one starts after 2 full rounds and runs one more: 18 seconds
    assert view.document["estimatedTimeRemaining"] == "18 seconds"


def test_queued_with_no_history_has_no_estimate_but_a_nonzero_retry_after() -> None:
    view = build_status(report(rank=0), REPORTS)
    assert "estimatedTimeRemaining" not in view.document
    assert view.retry_after is not None and view.retry_after >= 1


@pytest.mark.parametrize("estimate", [None, 0.0, 0.01, 0.4, 1.0, 3.0, 17.5, 120.0, 1e6])
def test_retry_after_for_a_queued_job_is_never_zero_and_bounded(estimate: float | None) -> None:
    seconds = retry_after_for(State.QUEUED, estimate)
    assert seconds is not None
    assert 1 <= seconds <= MAX_RETRY_AFTER


@pytest.mark.parametrize("state", [State.RUNNING, State.RETRYING])
@pytest.mark.parametrize("estimate", [None, 0.0, 2.0, 40.0, 3600.0])
def test_retry_after_while_running_is_between_one_and_the_cap(
    state: State, estimate: float | None
) -> None:
    seconds = retry_after_for(state, estimate)
    assert seconds is not None and 1 <= seconds <= MAX_RETRY_AFTER


def test_retry_after_grows_with_the_estimate() -> None:
    short, long = retry_after_for(State.RUNNING, 2.0), retry_after_for(State.RUNNING, 100.0)
    assert short is not None and long is not None and short < long


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.FAILED, State.CANCELLED])
def test_no_retry_after_once_terminal(state: State) -> None:
    assert retry_after_for(state, 10.0) is None


# -- ETag ----------------------------------------------------------------------


def test_etag_is_stable_while_only_the_estimate_changes() -> None:
    # Given the same running job read twice, 3 seconds apart, with no new progress
    steps = progress(2, 15)
    first = build_status(
        report({"status": "STARTED"}, started=CREATED, steps=steps, now=CREATED + 4), REPORTS
    )
    later = build_status(
        report({"status": "STARTED"}, started=CREATED, steps=steps, now=CREATED + 7), REPORTS
    )
    # Then the estimate moved but the ETag did not (If-None-Match keeps answering 304)
    assert first.document["estimatedTimeRemaining"] != later.document["estimatedTimeRemaining"]
    assert first.etag == later.etag
    assert first.etag.startswith('W/"') and first.etag.endswith('"')


def test_etag_changes_with_progress_and_with_state() -> None:
    running = {"status": "STARTED"}
    queued = build_status(report(), REPORTS)
    step2 = build_status(report(running, started=CREATED, steps=progress(2, 15)), REPORTS)
    step3 = build_status(report(running, started=CREATED, steps=progress(3, 15)), REPORTS)
    done = build_status(report({"status": "SUCCESS", "result": {}}, started=CREATED), REPORTS)
    assert len({queued.etag, step2.etag, step3.etag, done.etag}) == 4


def test_etag_differs_between_kinds() -> None:
    rec = record(JOB_ID, created=CREATED, parameters={})
    as_report = build_status(snapshot(rec, now=CREATED), REPORTS)
    as_import = build_status(snapshot(rec, now=CREATED), IMPORTS)
    assert as_report.etag != as_import.etag


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
