"""build_status: the status document from a JobSnapshot and its kind (its fields, its
progress, its links; an import's document follows the import kind's declaration)."""

from __future__ import annotations

import json
from typing import Any

from jobs.states import State
from jobs.status import build_status
from jobs.store import JobSnapshot, Progress
from kinds.imports import KIND as IMPORTS
from kinds.reports import KIND as REPORTS
from tests.unit.support import (
    CREATED,
    JOB_ID,
    SUCCESS,
    failure_meta,
    progress,
    record,
    report,
    snapshot,
)

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
