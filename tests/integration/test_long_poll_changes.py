"""Long polls that answer on a change of state only (`changes=state`), and coalesced ones."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.stack import Stack
from tests.integration.client import submit

pytestmark = pytest.mark.integration


def status(stack: Stack, job_id: str, **headers: str) -> requests.Response:
    return requests.get(
        f"{stack.base_url}/api/reports/{job_id}/status", headers=headers, timeout=60
    )


def running(stack: Stack, job_id: str) -> requests.Response:
    """The status once the job has taken its first step."""
    deadline = time.monotonic() + 30
    while True:
        resp = status(stack, job_id)
        if resp.json()["progress"]["current"] >= 1:
            return resp
        assert time.monotonic() < deadline, resp.json()
        time.sleep(0.05)


def test_a_changes_state_long_poll_does_not_answer_on_a_progress_step(stack: Stack) -> None:
    # Given a running job that takes a step every 0.1 s for 30 s
    job = submit(stack.base_url, "noop", {"steps": 300, "stepSeconds": 0.1}).json()["id"]
    current = running(stack, job)
    before = current.json()["progress"]["current"]
    # When a client long-polls for a change of state only
    started = time.monotonic()
    resp = status(
        stack,
        job,
        Prefer="wait=3, changes=state",
        **{"If-None-Match": current.headers["ETag"]},
    )
    elapsed = time.monotonic() - started
    try:
        # Then it is held for the whole wait, over many steps, and says what it applied
        assert resp.headers["Preference-Applied"] == "wait=3, changes=state"
        assert elapsed >= 2.5, elapsed
        assert resp.status_code == 200
        doc = resp.json()
        assert doc["state"] == "running"
        assert doc["progress"]["current"] >= before + 5
    finally:
        requests.delete(f"{stack.base_url}/api/reports/{job}", timeout=10)


def test_a_changes_state_long_poll_answers_at_the_end(stack: Stack) -> None:
    job = submit(stack.base_url, "noop", {"steps": 10, "stepSeconds": 0.2}).json()["id"]
    current = running(stack, job)
    started = time.monotonic()
    resp = status(
        stack,
        job,
        Prefer="wait=60, changes=state",
        **{"If-None-Match": current.headers["ETag"]},
    )
    # The job ends in about 2 s: the answer is its end, far before the 60 s
    assert resp.status_code == 200
    assert resp.json()["status"] == "Complete"
    assert time.monotonic() - started < 45


def test_a_plain_long_poll_coalesces_progress_steps(stack: Stack) -> None:
    # Given a job that takes a step every 50 ms
    job = submit(stack.base_url, "noop", {"steps": 400, "stepSeconds": 0.05}).json()["id"]
    current = running(stack, job)
    before = current.json()["progress"]["current"]
    # When a client long-polls without If-None-Match (so it waits for a document other
    # than the one at its arrival: a tag made stale by a step in between is answered at once)
    started = time.monotonic()
    resp = status(stack, job, Prefer="wait=30")
    elapsed = time.monotonic() - started
    try:
        # Then the answer waits out the 1 s coalescing interval, not the next 50 ms step
        assert resp.status_code == 200 and resp.headers["Preference-Applied"] == "wait=30"
        assert resp.json()["state"] == "running"
        assert elapsed >= 0.9, elapsed
        assert resp.json()["progress"]["current"] >= before + 5
    finally:
        requests.delete(f"{stack.base_url}/api/reports/{job}", timeout=10)


def test_an_unknown_changes_value_is_ignored(stack: Stack) -> None:
    job = submit(stack.base_url, "noop", {"steps": 1}).json()["id"]
    resp = status(stack, job, Prefer="wait=1, changes=everything")
    assert resp.status_code == 200
    assert resp.headers["Preference-Applied"] == "wait=1"
