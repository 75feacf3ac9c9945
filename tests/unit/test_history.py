"""The job history (jobs/history: the monitor's recorder and the ops views' reader),
without running processes: SQLite in a temporary file, and PostgreSQL where it is given."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from jobs.history.queries import HistoryReader, percentile
from jobs.history.recorder import HistoryRecorder
from jobs.history.tables import create_tables, make_engine
from jobs.registry import Kinds


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def recorder(engine: Engine, kinds: Kinds) -> HistoryRecorder:
    return recorder_of(engine, kinds)


def recorder_of(engine: Engine, kinds: Kinds) -> HistoryRecorder:
    """The monitor's writer, which knows each task's kind and type (as MonitorClients)."""
    task_types = {task: (k.name, t) for task, (k, t) in kinds.by_task.items()}
    return HistoryRecorder(engine, task_types)


@pytest.fixture
def history(engine: Engine) -> HistoryReader:
    return HistoryReader(engine)


def event(kind: str, job: str, at: float, **extra: object) -> dict[str, Any]:
    return {"type": kind, "uuid": job, "timestamp": at, **extra}


def test_events_build_one_row_per_job_even_out_of_order(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    # Given a job's events, with task-received arriving after task-succeeded
    recorder.record_task_event(event("task-sent", "j1", 100.0, name="reports.yearly_sales"))
    recorder.record_task_event(event("task-started", "j1", 101.0, hostname="w@h"))
    recorder.record_task_event(event("task-succeeded", "j1", 103.5, hostname="w@h", runtime=2.5))
    recorder.record_task_event(
        event("task-received", "j1", 100.5, hostname="w@h", name="reports.yearly_sales")
    )
    # Then the row is succeeded, of its kind and type, timed, and lists all four events
    job = history.job("j1")
    assert job is not None
    assert job["state"] == "succeeded"
    assert (job["kind"], job["type"], job["taskName"]) == (
        "report",
        "yearly-sales",
        "reports.yearly_sales",
    )
    assert job["duration"] == 2.5 and job["worker"] == "w@h" and job["finishedAt"] == 103.5
    assert [e["type"] for e in job["events"]] == [
        "task-sent",
        "task-started",
        "task-succeeded",
        "task-received",
    ]


def test_a_late_sent_or_received_event_does_not_move_a_running_job_back_to_queued(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    # Given a running job whose task-sent (published by the web) and task-received arrive
    # after the pool process's task-started
    recorder.record_task_event(event("task-started", "j1", 101.0, hostname="w@h"))
    recorder.record_task_event(event("task-received", "j1", 100.5, hostname="w@h"))
    recorder.record_task_event(event("task-sent", "j1", 100.0, name="reports.noop"))
    # Then it is still running, with the times of all three
    job = history.job("j1")
    assert job is not None and job["state"] == "running"
    assert (job["sentAt"], job["receivedAt"], job["startedAt"]) == (100.0, 100.5, 101.0)
    # And a task-sent stamped after the start (the web's publish waited for the broker's
    # confirm) does not move it either
    recorder.record_task_event(event("task-sent", "j1", 101.5, name="reports.noop"))
    late = history.job("j1")
    assert late is not None and late["state"] == "running"
    # And a delivery received after the run started (its worker died) is queued again
    recorder.record_task_event(event("task-received", "j1", 150.0, hostname="w2@h"))
    again = history.job("j1")
    assert again is not None and again["state"] == "queued"


def test_an_imports_task_is_recorded_as_an_import(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    recorder.record_task_event(event("task-sent", "i1", 100.0, name="imports.sales_csv"))
    job = history.job("i1")
    assert job is not None and (job["kind"], job["type"]) == ("import", "sales-csv")


def test_a_task_of_no_known_kind_keeps_its_name_as_its_type(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    recorder.record_task_event(event("task-sent", "x1", 100.0, name="celery.chord_unlock"))
    job = history.job("x1")
    assert job is not None and (job["kind"], job["type"]) == ("", "celery.chord_unlock")


def test_summary_counts_percentiles_and_failure_rate_per_kind_and_type(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    # Given four noop reports that succeeded in 1-4 s and one that failed
    now = time.time()
    for i, runtime in enumerate([1.0, 2.0, 3.0, 4.0]):
        job = f"ok{i}"
        recorder.record_task_event(event("task-sent", job, now - 10, name="reports.noop"))
        recorder.record_task_event(event("task-started", job, now - 9))
        recorder.record_task_event(event("task-succeeded", job, now - 9 + runtime, runtime=runtime))
    recorder.record_task_event(event("task-sent", "bad", now - 10, name="reports.noop"))
    recorder.record_task_event(event("task-failed", "bad", now - 5, exception="Boom('x')"))
    recorder.set_error("bad", {"title": "T", "detail": "D"})
    # And an import that succeeded
    recorder.record_task_event(event("task-sent", "imp", now - 10, name="imports.sales_csv"))
    recorder.record_task_event(event("task-succeeded", "imp", now - 8, runtime=2.0))
    # When the statistics of the last minute are read
    summary = history.summary(now - 60)
    # Then they are kept per `kind:type`
    noop = summary["types"]["report:noop"]
    assert (noop["succeeded"], noop["failed"], noop["failureRate"]) == (4, 1, 0.2)
    assert noop["duration"]["p50"] == 2.5 and noop["duration"]["max"] == 4.0
    assert summary["types"]["import:sales-csv"]["succeeded"] == 1
    assert summary["byType"] == {
        "import:sales-csv": {"succeeded": 1},
        "report:noop": {"succeeded": 4, "failed": 1},
    }
    assert summary["byState"] == {"succeeded": 5, "failed": 1}
    # And the failure shows the error its client saw
    assert history.recent(5, "failed")[0]["error"] == {"title": "T", "detail": "D"}
    # And the all-time totals are per kind and type too
    counts, hists = history.totals()
    assert ("report", "noop", "succeeded", 4) in counts
    assert ("import", "sales-csv", "succeeded", 1) in counts
    # buckets are cumulative: <=1.0 holds one success (1.0 s), +count, +sum
    *le, count, total = hists[("report", "noop")]
    assert count == 4 and total == 10.0 and le[3] == 1


def test_recent_lists_the_newest_first_and_filters_by_state(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    for i in range(3):
        recorder.record_task_event(event("task-sent", f"j{i}", 100.0 + i, name="reports.noop"))
    recorder.record_task_event(event("task-revoked", "j1", 110.0))
    assert [j["id"] for j in history.recent(2)] == ["j2", "j1"]
    assert [j["id"] for j in history.recent(5, "cancelled")] == ["j1"]
    assert [j["id"] for j in history.recent(5, "queued")] == ["j2", "j0"]


def test_workers_go_offline_when_heartbeats_stop(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    recorder.record_worker_event(
        {
            "type": "worker-heartbeat",
            "hostname": "w@h",
            "timestamp": 1000.0,
            "freq": 2.0,
            "active": 1,
            "processed": 7,
        }
    )
    (fresh,) = history.workers(now=1001.0)
    (stale,) = history.workers(now=1100.0)
    assert fresh["online"] and fresh["processed"] == 7 and fresh["active"] == 1
    assert not stale["online"]
    recorder.record_worker_event({"type": "worker-offline", "hostname": "w@h", "timestamp": 1002.0})
    (gone,) = history.workers(now=1002.5)
    assert not gone["online"]


def test_queue_depth_samples_are_kept_for_a_while(
    recorder: HistoryRecorder, history: HistoryReader
) -> None:
    recorder.record_queue_depth("jobs", 3, 1000.0, keep_seconds=60)
    recorder.record_queue_depth("jobs", 5, 1100.0, keep_seconds=60)
    assert history.queue_history(0) == [{"at": 1100.0, "queue": "jobs", "depth": 5}]


def test_a_history_recorded_before_job_kinds_is_brought_up_to_date(tmp_path: Path) -> None:
    # Given a history table of the earlier layout (report_type, no kind) with one row
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE job_history (id VARCHAR(64) PRIMARY KEY, task_name VARCHAR(128) "
                "NOT NULL DEFAULT '', report_type VARCHAR(64) NOT NULL DEFAULT '', state "
                "VARCHAR(16) NOT NULL, worker VARCHAR(255), retries INTEGER NOT NULL DEFAULT 0, "
                "sent_at FLOAT, received_at FLOAT, started_at FLOAT, finished_at FLOAT, "
                "duration FLOAT, error TEXT, updated_at FLOAT NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO job_history (id, task_name, report_type, state, sent_at, updated_at) "
                "VALUES ('old', 'reports.yearly_sales', 'yearly-sales', 'succeeded', 1.0, 1.0)"
            )
        )
    # When the tables are created (the web and the monitor both do it at start)
    create_tables(engine)
    create_tables(engine)
    # Then the old row reads as a report of its type
    columns = {c["name"] for c in inspect(engine).get_columns("job_history")}
    assert {"kind", "job_type"} <= columns and "report_type" not in columns
    job = HistoryReader(engine).job("old")
    assert job is not None and (job["kind"], job["type"]) == ("report", "yearly-sales")
    engine.dispose()


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0


@pytest.mark.postgres
def test_history_works_on_postgresql(postgres_url: str, kinds: Kinds) -> None:
    # Given the history tables in PostgreSQL (the production database)
    engine = make_engine(postgres_url)
    create_tables(engine)
    create_tables(engine)  # idempotent: the web and the monitor both call it
    recorder, history = recorder_of(engine, kinds), HistoryReader(engine)
    now = time.time()
    # When a job's events and a worker's heartbeat arrive
    recorder.record_task_event(event("task-sent", "pg1", now - 3, name="reports.top_products"))
    recorder.record_task_event(event("task-started", "pg1", now - 2, hostname="w@pg"))
    recorder.record_task_event(
        event("task-failed", "pg1", now - 1, hostname="w@pg", exception="E()")
    )
    recorder.set_error("pg1", {"title": "T", "detail": "gone wrong"})
    recorder.record_worker_event({"type": "worker-heartbeat", "hostname": "w@pg", "timestamp": now})
    recorder.record_queue_depth("jobs", 3, now, keep_seconds=60)
    # Then every read works there too
    job = history.job("pg1")
    assert job is not None and job["state"] == "failed"
    assert (job["kind"], job["type"]) == ("report", "top-products")
    assert job["duration"] == pytest.approx(1.0, abs=1e-6)
    assert history.summary(now - 60)["types"]["report:top-products"]["failureRate"] == 1.0
    assert history.recent(5, "failed")[0]["error"]["detail"] == "gone wrong"
    assert history.workers(now=now)[0]["online"]
    assert history.queue_history(now - 10) == [{"at": now, "queue": "jobs", "depth": 3}]
    counts, hists = history.totals()
    assert counts == [("report", "top-products", "failed", 1)]
    assert hists[("report", "top-products")][-2] == 1
    engine.dispose()
