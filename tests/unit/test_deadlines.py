"""jobs.deadlines: when a job In Progress is overdue, and the status it then shows."""

from __future__ import annotations

from typing import Any

import pytest

from app.status import build_status
from jobs.deadlines import overdue_problem, redelivery_bound, run_deadline
from jobs.problems import NOT_STARTED, WORKER_LOST
from jobs.settings import Settings
from jobs.store import JobRecord, JobSnapshot

SETTINGS = Settings(
    task_soft_time_limit=50,
    task_time_limit=60,
    broker_visibility_timeout=120,
    job_queue_timeout=300,
)
CREATED = 1_800_000_000.0


def snapshot(
    meta: dict[str, Any] | None = None,
    deadline: float | None = None,
    finished: float | None = None,
    error: dict[str, Any] | None = None,
) -> JobSnapshot:
    record = JobRecord(
        id="job-1",
        report_type="noop",
        parameters={},
        owner="public",
        created_at=CREATED,
        started_at=None if deadline is None else CREATED + 1,
        finished_at=finished,
        error=error,
        deadline=deadline,
    )
    return JobSnapshot(record, meta, None, None, 1, read_at=CREATED)


def test_visibility_timeout_defaults_to_a_minute_over_the_hard_limit() -> None:
    assert Settings(task_time_limit=660).visibility_timeout == 720
    assert Settings(task_time_limit=660, broker_visibility_timeout=900).visibility_timeout == 900
    # The scan for abandoned jobs runs every quarter of it, at most every 10 s
    short = Settings(task_soft_time_limit=4, task_time_limit=6, broker_visibility_timeout=8)
    assert short.restore_interval == 2
    assert Settings().restore_interval == 10


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"TASK_SOFT_TIME_LIMIT": "60", "TASK_TIME_LIMIT": "60"}, "TASK_SOFT_TIME_LIMIT"),
        ({"TASK_TIME_LIMIT": "660", "BROKER_VISIBILITY_TIMEOUT": "600"}, "VISIBILITY"),
    ],
)
def test_limits_that_would_run_jobs_twice_or_too_long_are_refused(
    env: dict[str, str], complaint: str
) -> None:
    with pytest.raises(SystemExit, match=complaint):
        Settings.from_env(env)


def test_a_run_must_end_or_restart_within_visibility_plus_scan_plus_slack() -> None:
    bound = redelivery_bound(SETTINGS)
    assert bound > SETTINGS.visibility_timeout > SETTINGS.task_time_limit
    assert run_deadline(SETTINGS, now=100.0) == 100.0 + bound


def test_a_running_job_is_overdue_only_after_its_deadline() -> None:
    running = snapshot({"status": "PROGRESS", "result": {}}, deadline=CREATED + 100)
    assert overdue_problem(running, SETTINGS, now=CREATED + 100) is None
    problem = overdue_problem(running, SETTINGS, now=CREATED + 101)
    assert problem is not None and problem["type"] == WORKER_LOST["type"]
    assert "submit it again" in problem["detail"]


def test_a_queued_job_is_overdue_after_the_queue_timeout() -> None:
    queued = snapshot()
    assert overdue_problem(queued, SETTINGS, now=CREATED + 300) is None
    problem = overdue_problem(queued, SETTINGS, now=CREATED + 301)
    assert problem is not None and problem["type"] == NOT_STARTED["type"]
    assert "300 seconds" in problem["detail"]


def test_finished_jobs_are_never_overdue() -> None:
    late = CREATED + 10_000
    assert overdue_problem(snapshot({"status": "SUCCESS"}, CREATED + 1), SETTINGS, late) is None
    assert overdue_problem(snapshot({"status": "FAILURE"}), SETTINGS, late) is None
    assert (
        overdue_problem(snapshot(None, CREATED + 1, finished=CREATED + 2), SETTINGS, late) is None
    )


def test_a_record_failed_by_the_deadline_shows_failed_whatever_celery_last_said() -> None:
    # Given a job Celery last saw STARTED (its worker vanished), failed by the deadline
    error = {**WORKER_LOST, "detail": "stopped"}
    snap = snapshot({"status": "STARTED"}, CREATED + 1, finished=CREATED + 200, error=error)
    view = build_status(snap)
    # Then it is Failed with that error, terminal, with no cancel link
    assert view.state == "failed" and view.document["status"] == "Failed"
    assert view.document["error"]["type"] == WORKER_LOST["type"]
    assert view.retry_after is None and "cancel" not in view.document["links"]
