"""Unit tests of the ops pieces that need no running processes: live progress for the
ops views, worker liveness, the ops endpoints' keys, the dashboard page (the job history
they read is tests/unit/test_history.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.services import ops_data
from app.services.backend import Backend
from jobs.settings import Settings
from jobs.store import Progress
from jobs.store.runs import RunLedger
from tests.unit.support import Submit
from worker.liveness import is_alive


def test_liveness_reads_the_heartbeat_file_age(tmp_path: Path) -> None:
    beat = tmp_path / "hb"
    assert not is_alive(beat, 30)
    beat.touch()
    assert is_alive(beat, 30)
    assert not is_alive(beat, 30, now=time.time() + 60)


# -- the web's ops pieces --------------------------------------------------------


@pytest.fixture
def ops_app(backend: Backend) -> Iterator[Flask]:
    """The web app on the fake Redis, in an app context."""
    app = create_app({"TESTING": True})
    app.extensions["async_reports"] = backend
    with app.app_context():
        yield app


def test_live_progress_of_unfinished_jobs_is_read_from_their_records(
    ops_app: Flask, submit: Submit, ledger: RunLedger
) -> None:
    # Given history rows of a running job with a step, a running one without, a queued
    # one and a succeeded one
    for job_id in ("stepped", "started", "queued"):
        submit(job_id)
    ledger.step("stepped", Progress(2, 8, 25))
    rows = [
        {"id": "stepped", "state": "running"},
        {"id": "started", "state": "running"},
        {"id": "queued", "state": "queued"},
        {"id": "done", "state": "succeeded"},
    ]
    # When the ops view adds their progress
    jobs = ops_data.with_live_progress(rows)
    # Then each shows what its record (or its state) says
    assert [j["progress"] for j in jobs] == [
        {"percent": 25, "current": 2, "total": 8},
        {"percent": 0},
        None,
        {"percent": 100},
    ]


@pytest.mark.parametrize("path", ["/api/ops/workers", "/metrics", "/api/ops/stats"])
def test_ops_endpoints_need_an_admin_key_when_admin_keys_are_set(path: str, tmp_path: Path) -> None:
    app = create_app(
        {
            "API_KEYS": {"client-key": "alice"},
            "ADMIN_KEYS": {"admin-key": "ops"},
            "SETTINGS": Settings(monitor_database_url=f"sqlite:///{tmp_path / 'h.db'}"),
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
        assert ok.status_code == 200 and ok.get_json()["types"] == {}


def test_dashboard_page_is_served_without_any_outside_resource() -> None:
    app = create_app()
    page = app.test_client().get("/ops")
    assert page.status_code == 200 and b"/ops/static/ops.js" in page.data
    assert b"http://" not in page.data and b"https://" not in page.data
    js = app.test_client().get("/ops/static/ops.js")
    assert js.status_code == 200 and b"/api/ops/overview" in js.data
    js.close()
