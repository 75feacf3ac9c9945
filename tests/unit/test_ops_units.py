"""Unit tests of the ops pieces that need no running processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app import create_app
from monitor.history import JobHistory, percentile
from worker.liveness import is_alive


@pytest.fixture
def history(tmp_path: Path) -> JobHistory:
    h = JobHistory.from_url(f"sqlite:///{tmp_path / 'h.db'}")
    h.create_tables()
    return h


def event(kind: str, job: str, at: float, **extra: object) -> dict:
    return {"type": kind, "uuid": job, "timestamp": at, **extra}


def test_events_build_one_row_per_job_even_out_of_order(history: JobHistory) -> None:
    # Given a job's events, with task-received arriving after task-succeeded
    history.record_task_event(event("task-sent", "j1", 100.0, name="reports.yearly_sales"))
    history.record_task_event(event("task-started", "j1", 101.0, hostname="w@h"))
    history.record_task_event(event("task-succeeded", "j1", 103.5, hostname="w@h", runtime=2.5))
    history.record_task_event(
        event("task-received", "j1", 100.5, hostname="w@h", name="reports.yearly_sales")
    )
    # Then the row is succeeded, typed, timed, and lists all four events
    job = history.job("j1")
    assert job is not None
    assert job["state"] == "succeeded" and job["reportType"] == "yearly-sales"
    assert job["duration"] == 2.5 and job["worker"] == "w@h" and job["finishedAt"] == 103.5
    assert [e["type"] for e in job["events"]] == [
        "task-sent",
        "task-started",
        "task-succeeded",
        "task-received",
    ]


def test_summary_counts_percentiles_and_failure_rate(history: JobHistory) -> None:
    now = time.time()
    for i, runtime in enumerate([1.0, 2.0, 3.0, 4.0]):
        job = f"ok{i}"
        history.record_task_event(event("task-sent", job, now - 10, name="reports.noop"))
        history.record_task_event(event("task-started", job, now - 9))
        history.record_task_event(event("task-succeeded", job, now - 9 + runtime, runtime=runtime))
    history.record_task_event(event("task-sent", "bad", now - 10, name="reports.noop"))
    history.record_task_event(event("task-failed", "bad", now - 5, exception="Boom('x')"))
    history.set_error("bad", {"title": "T", "detail": "D"})
    summary = history.summary(now - 60)
    noop = summary["reportTypes"]["noop"]
    assert (noop["succeeded"], noop["failed"], noop["failureRate"]) == (4, 1, 0.2)
    assert noop["duration"]["p50"] == 2.5 and noop["duration"]["max"] == 4.0
    assert summary["byState"] == {"succeeded": 4, "failed": 1}
    assert history.recent(5, "failed")[0]["error"] == {"title": "T", "detail": "D"}
    counts, hists = history.totals()
    assert ("noop", "succeeded", 4) in counts
    # buckets are cumulative: <=1.0 holds one success (1.0 s), +count, +sum
    *le, count, total = hists["noop"]
    assert count == 4 and total == 10.0 and le[3] == 1


def test_workers_go_offline_when_heartbeats_stop(history: JobHistory) -> None:
    history.record_worker_event(
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


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0


def test_liveness_reads_the_heartbeat_file_age(tmp_path: Path) -> None:
    beat = tmp_path / "hb"
    assert not is_alive(beat, 30)
    beat.touch()
    assert is_alive(beat, 30)
    assert not is_alive(beat, 30, now=time.time() + 60)


@pytest.mark.parametrize("path", ["/api/ops/workers", "/metrics", "/api/ops/stats"])
def test_ops_endpoints_need_an_admin_key_when_admin_keys_are_set(path: str, tmp_path: Path) -> None:
    app = create_app(
        {
            "API_KEYS": {"client-key": "alice"},
            "ADMIN_KEYS": {"admin-key": "ops"},
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
        }
    )
    client = app.test_client()
    missing = client.get(path)
    assert missing.status_code == 401
    assert missing.content_type == "application/problem+json"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    client_key = client.get(path, headers={"Authorization": "Bearer client-key"})
    assert client_key.status_code == 401
    assert client_key.get_json()["status"] == 401
    if path == "/api/ops/stats":  # needs only the history database
        ok = client.get(path, headers={"Authorization": "Bearer admin-key"})
        assert ok.status_code == 200 and ok.get_json()["reportTypes"] == {}


def test_dashboard_page_is_served_without_any_outside_resource() -> None:
    app = create_app()
    page = app.test_client().get("/ops")
    assert page.status_code == 200 and b"/ops/static/ops.js" in page.data
    assert b"http://" not in page.data and b"https://" not in page.data
    js = app.test_client().get("/ops/static/ops.js")
    assert js.status_code == 200 and b"/api/ops/overview" in js.data
    js.close()


@pytest.mark.postgres
def test_history_works_on_postgresql(postgres_url: str) -> None:
    # Given the history tables in PostgreSQL (the production database)
    h = JobHistory.from_url(postgres_url)
    h.create_tables()
    h.create_tables()  # idempotent: the web and the monitor both call it
    now = time.time()
    # When a job's events and a worker's heartbeat arrive
    h.record_task_event(event("task-sent", "pg1", now - 3, name="reports.top_products"))
    h.record_task_event(event("task-started", "pg1", now - 2, hostname="w@pg"))
    h.record_task_event(event("task-failed", "pg1", now - 1, hostname="w@pg", exception="E()"))
    h.set_error("pg1", {"title": "T", "detail": "gone wrong"})
    h.record_worker_event({"type": "worker-heartbeat", "hostname": "w@pg", "timestamp": now})
    h.record_queue_depth("reports", 3, now, keep_seconds=60)
    # Then every read works there too
    job = h.job("pg1")
    assert job is not None and job["state"] == "failed" and job["reportType"] == "top-products"
    assert job["duration"] == pytest.approx(1.0, abs=1e-6)
    assert h.summary(now - 60)["reportTypes"]["top-products"]["failureRate"] == 1.0
    assert h.recent(5, "failed")[0]["error"]["detail"] == "gone wrong"
    assert h.workers(now=now)[0]["online"]
    assert h.queue_history(now - 10) == [{"at": now, "queue": "reports", "depth": 3}]
    counts, hists = h.totals()
    assert counts == [("top-products", "failed", 1)] and hists["top-products"][-2] == 1
    h.engine.dispose()
