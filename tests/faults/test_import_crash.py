"""A worker killed in the middle of an import (its pool process, or the whole worker), on
SQLite and PostgreSQL: the sales table stays as it was until the redelivered import
completes, and then holds every row once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.redis_server import RedisProcess
from tests.conftest import seeded_database
from tests.faults.harness import FaultStack, start_fault_stack, wait_web
from tests.integration.imports import count_rows, csv_lines, post_import, year_range

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

ROWS = 150_000
# Limits long enough for the import to run, short enough for a redelivery within a minute.
LIMITS = {"TASK_SOFT_TIME_LIMIT": "20", "TASK_TIME_LIMIT": "25", "BROKER_VISIBILITY_TIMEOUT": "30"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def import_stack(
    request: pytest.FixtureRequest, tmp_path: Path, fault_redis: RedisProcess
) -> Iterator[tuple[FaultStack, str]]:
    """web (no worker yet) on a sales database of this test's own: SQLite or PostgreSQL."""
    with seeded_database(request.param, tmp_path, rows=5_000) as url:
        fs = start_fault_stack(tmp_path / "stack", fault_redis, url, LIMITS)
        try:
            wait_web(fs)
            yield fs, url
        finally:
            fs.stack.stop_all()


def start_import(fs: FaultStack, year: int) -> str:
    """Submit a large import and wait until its rows are being read; returns its id."""
    resp = post_import(fs.base_url, csv_lines(year, ROWS))
    assert resp.status_code == 202, resp.text
    job_id = str(resp.json()["id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = requests.get(f"{fs.base_url}/api/imports/{job_id}/status", timeout=10).json()
        if doc["state"] == "running" and doc["progress"]["current"] > 0:
            return job_id
        assert doc["status"] == "In Progress", doc
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not start reading rows")


def wait_import(fs: FaultStack, job_id: str, url: str, before: int, timeout: float = 120) -> dict:
    """Wait for the import to end, counting the table meanwhile: it holds `before` rows
    until the import is Complete, never part of the file (all-or-nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = count_rows(url)
        doc = requests.get(f"{fs.base_url}/api/imports/{job_id}/status", timeout=10).json()
        if doc["status"] != "In Progress":
            return dict(doc)
        assert rows in (before, before + ROWS), f"{rows - before} of {ROWS} rows visible"
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} not finished:\n{fs.all_logs()[-4000:]}")


def test_pool_process_killed_mid_import_leaves_the_table_until_the_rerun_completes_once(
    import_stack: tuple[FaultStack, str],
) -> None:
    fs, url = import_stack
    fs.start_worker({"WORKER_CONCURRENCY": "1"})
    before = count_rows(url)
    # Given an import reading its rows
    job_id = start_import(fs, 2041)
    # When its pool process is SIGKILLed (the kernel's OOM killer would)
    for child in fs.pool_children(fs.workers[0]):
        child.send_signal(signal.SIGKILL)
    # Then the table is exactly as it was, right after the kill
    assert count_rows(url) == before
    # And the redelivered import completes, every row in once
    done = wait_import(fs, job_id, url, before)
    assert done["status"] == "Complete", done
    assert done["result"]["rowsImported"] == ROWS
    assert count_rows(url) == before + ROWS
    assert count_rows(url, year_range(2041)) == ROWS
    assert int(fs.record(job_id)["attempts"]) == 2


def test_whole_worker_killed_mid_import_is_run_again_elsewhere_once(
    import_stack: tuple[FaultStack, str],
) -> None:
    fs, url = import_stack
    victim = fs.start_worker({"WORKER_CONCURRENCY": "1"})
    before = count_rows(url)
    # Given an import reading its rows on the first worker
    job_id = start_import(fs, 2042)
    # When that whole worker is SIGKILLed, and another worker starts
    fs.kill_worker(victim)
    assert count_rows(url) == before
    fs.start_worker({"WORKER_CONCURRENCY": "1"})
    # Then, after the visibility timeout, the import runs again and completes once
    done = wait_import(fs, job_id, url, before, timeout=150)
    assert done["status"] == "Complete", done
    assert count_rows(url) == before + ROWS
    assert count_rows(url, year_range(2042)) == ROWS
