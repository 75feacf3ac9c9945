"""Probes of finished jobs: the progress a completed or failed job shows, and what the
worker logs of a report at info (no report data)."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.stack import Stack

pytestmark = pytest.mark.integration


def wait_terminal(stack: Stack, location: str) -> dict:
    resp = requests.get(f"{stack.base_url}{location}", headers={"Prefer": "wait=30"}, timeout=60)
    doc = resp.json()
    for _ in range(30):
        if doc["status"] != "In Progress":
            return dict(doc)
        doc = requests.get(
            f"{stack.base_url}{location}", headers={"Prefer": "wait=5"}, timeout=60
        ).json()
    raise AssertionError(f"job did not finish: {doc}")


def test_a_finished_job_shows_the_steps_it_took(stack: Stack) -> None:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 7}},
        timeout=10,
    )
    doc = wait_terminal(stack, resp.headers["Location"])
    assert doc["status"] == "Complete"
    assert doc["progress"]["percent"] == 100
    assert (doc["progress"]["current"], doc["progress"]["total"]) == (7, 7)


def test_a_failed_job_keeps_the_progress_it_reached(stack: Stack) -> None:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 4, "failAtStep": 3}},
        timeout=10,
    )
    doc = wait_terminal(stack, resp.headers["Location"])
    assert doc["status"] == "Failed"
    assert (doc["progress"]["current"], doc["progress"]["total"]) == (2, 4)
    assert doc["progress"]["percent"] == 50


def test_the_worker_logs_no_report_data_at_info(stack: Stack) -> None:
    resp = requests.post(
        f"{stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 2}},
        timeout=10,
    )
    job_id = resp.json()["id"]
    assert wait_terminal(stack, resp.headers["Location"])["status"] == "Complete"
    # the result is stored with the record's end, a moment before Celery logs the success
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in stack.log("worker0").splitlines() if job_id in line]
        if any("succeeded" in line for line in lines) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert any("succeeded" in line for line in lines), lines
    assert not any("summary" in line for line in lines), "\n".join(lines)
