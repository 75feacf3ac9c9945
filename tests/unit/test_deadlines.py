"""jobs.deadlines: when a job In Progress is overdue, and the status it then shows."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.services.backend import Backend
from jobs.deadlines import CLAIM_SLACK, overdue_problem, redelivery_bound, run_deadline
from jobs.problems import NOT_STARTED, WORKER_LOST
from jobs.settings import Settings
from jobs.states import State
from jobs.status import build_status
from jobs.store import JobSnapshot
from jobs.store.runs import RunLedger
from kinds.reports import KIND as REPORTS
from tests.unit.support import Submit, record, snapshot

SETTINGS = Settings(
    task_soft_time_limit=50,
    task_time_limit=60,
    broker_visibility_timeout=120,
    job_queue_timeout=300,
)
CREATED = 1_800_000_000.0


def job(
    meta: dict[str, Any] | None = None,
    deadline: float | None = None,
    finished: float | None = None,
    error: dict[str, Any] | None = None,
) -> JobSnapshot:
    rec = record(
        type="noop",
        parameters={},
        owner="public",
        created=CREATED,
        started_at=None if deadline is None else CREATED + 1,
        finished_at=finished,
        error=error,
        deadline=deadline,
    )
    return snapshot(rec, meta, slots=1, now=CREATED)


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


def test_on_rabbitmq_a_run_must_end_within_the_hard_limit_or_be_back_after_heartbeats() -> None:
    # RabbitMQ has no visibility timeout: a lost worker's delivery comes back when its
    # connection is closed after missed heartbeats (about 20 s), a healthy run holds it
    # up to the hard limit
    fast = Settings(celery_broker_url="amqp://guest:guest@rabbit//", task_soft_time_limit=5,
                    task_time_limit=6, broker_visibility_timeout=8)  # fmt: skip
    assert redelivery_bound(fast) == 3 * 10 + CLAIM_SLACK
    slow = Settings(celery_broker_url="amqp://guest:guest@rabbit//", task_time_limit=660)
    assert redelivery_bound(slow) == 660 + CLAIM_SLACK


def test_a_running_job_is_overdue_only_after_its_deadline() -> None:
    running = job({"status": "STARTED"}, deadline=CREATED + 100)
    assert overdue_problem(running, SETTINGS, now=CREATED + 100) is None
    problem = overdue_problem(running, SETTINGS, now=CREATED + 101)
    assert problem is not None and problem["type"] == WORKER_LOST["type"]
    assert "submit it again" in problem["detail"]


def test_a_queued_job_is_overdue_after_the_queue_timeout() -> None:
    queued = job()
    assert overdue_problem(queued, SETTINGS, now=CREATED + 300) is None
    problem = overdue_problem(queued, SETTINGS, now=CREATED + 301)
    assert problem is not None and problem["type"] == NOT_STARTED["type"]
    assert "300 seconds" in problem["detail"]


def test_finished_jobs_are_never_overdue() -> None:
    late = CREATED + 10_000
    assert overdue_problem(job({"status": "SUCCESS"}, CREATED + 1), SETTINGS, late) is None
    assert overdue_problem(job({"status": "FAILURE"}), SETTINGS, late) is None
    failed = job(None, CREATED + 1, finished=CREATED + 2, error={"type": "t"})
    assert overdue_problem(failed, SETTINGS, late) is None


def test_a_record_finished_without_its_result_can_be_overdue() -> None:
    # Given a run cut off after its record's end but before Celery's result was stored
    cut = job({"status": "STARTED"}, CREATED + 1, finished=CREATED + 2)
    # Then it is not finished: past its deadline it is overdue (its worker was lost)
    assert overdue_problem(cut, SETTINGS, CREATED + 1) is None
    problem = overdue_problem(cut, SETTINGS, CREATED + 10_000)
    assert problem is not None and problem["type"] == WORKER_LOST["type"]


def test_a_record_failed_by_the_deadline_shows_failed_whatever_celery_last_said() -> None:
    # Given a job Celery last saw STARTED (its worker vanished), failed by the deadline
    error = {**WORKER_LOST, "detail": "stopped"}
    snap = job({"status": "STARTED"}, CREATED + 1, finished=CREATED + 200, error=error)
    view = build_status(snap, REPORTS)
    # Then it is Failed with that error, terminal, with no cancel link
    assert view.state is State.FAILED and view.document["status"] == "Failed"
    assert view.document["error"]["type"] == WORKER_LOST["type"]
    assert view.retry_after is None and "cancel" not in view.document["links"]


def test_reading_an_overdue_job_fails_it_in_the_store_for_every_reader(
    backend: Backend, ledger: RunLedger, submit: Submit
) -> None:
    # Given a running job whose deadline passed (its worker vanished)
    submit(created=time.time())
    ledger.claim("job-1", "w1@host", deadline=time.time() - 1)
    # When the web reads it
    snap = backend.read("job-1")
    # Then it reads as Failed with worker-lost
    assert snap is not None and snap.record.finished_at is not None
    assert snap.record.error is not None and snap.record.error["type"] == WORKER_LOST["type"]
    assert build_status(snap, REPORTS).state is State.FAILED
    # And the record itself changed: every later reader sees the same failure
    again = backend.jobs.read("job-1")
    assert again is not None and again.record.error == snap.record.error


def test_reading_a_job_within_its_bounds_changes_nothing(
    backend: Backend, ledger: RunLedger, submit: Submit
) -> None:
    submit(created=time.time())
    ledger.claim("job-1", "w1@host", deadline=time.time() + 600)
    snap = backend.read("job-1")
    assert snap is not None and snap.record.finished_at is None and snap.record.error is None
