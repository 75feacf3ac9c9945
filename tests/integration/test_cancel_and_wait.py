"""Cancel, forget, Prefer: wait, long polls and conditional polls on the real stack."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.integration.client import poll, run_job, submit

pytestmark = pytest.mark.integration


def status(stack: Stack, job_id: str, **headers: str) -> requests.Response:
    return requests.get(
        f"{stack.base_url}/api/reports/{job_id}/status", headers=headers, timeout=30
    )


def wait_until(stack: Stack, job_id: str, test: Any, timeout: float = 30) -> dict[str, Any]:
    """Long-poll the status until `test(doc)` holds."""
    deadline = time.monotonic() + timeout
    doc = status(stack, job_id).json()
    while not test(doc):
        assert time.monotonic() < deadline, doc
        doc = status(stack, job_id, Prefer="wait=5").json()
    return doc


def test_a_running_job_stops_at_its_next_checkpoint(stack: Stack) -> None:
    # Given a job that is running, with steps to go
    job = submit(stack.base_url, "noop", {"steps": 40, "stepSeconds": 0.25}).json()
    wait_until(stack, job["id"], lambda d: d["progress"]["current"] >= 1)
    # When the client cancels it
    resp = requests.delete(f"{stack.base_url}/api/reports/{job['id']}", timeout=10)
    # Then the cancel is accepted with the status document
    assert resp.status_code == 202, resp.text
    assert resp.json()["id"] == job["id"] and "ETag" in resp.headers
    # And the job ends Cancelled long before its last step, never Complete
    final, seen = poll(stack.base_url, f"/api/reports/{job['id']}/status")
    assert final["status"] == "Cancelled" and final["state"] == "cancelled"
    assert final["progress"]["current"] < 40
    assert all(d["status"] != "Complete" for d in seen)
    assert final["startedAt"] and final["finishedAt"] and "cancel" not in final["links"]
    # And a second DELETE of the now finished job forgets it
    assert (
        requests.delete(f"{stack.base_url}/api/reports/{job['id']}", timeout=10).status_code == 204
    )


def test_cancel_is_idempotent_while_the_job_winds_down(stack: Stack) -> None:
    # Given a running job
    job = submit(stack.base_url, "noop", {"steps": 40, "stepSeconds": 0.25}).json()
    wait_until(stack, job["id"], lambda d: d["state"] == "running")
    url = f"{stack.base_url}/api/reports/{job['id']}"
    # When it is cancelled twice in a row
    first, second = requests.delete(url, timeout=10), requests.delete(url, timeout=10)
    # Then both are accepted: the second is another 202 while the job winds down, or a
    # 204 (forgotten) if the worker already stopped it
    assert first.status_code == 202, first.text
    assert second.status_code in {202, 204}, second.text
    if second.status_code == 202:
        final, _ = poll(stack.base_url, f"/api/reports/{job['id']}/status")
        assert final["status"] == "Cancelled"


def test_forgetting_a_finished_job(stack: Stack) -> None:
    # Given a complete job
    final, _ = run_job(stack.base_url, "noop", {"steps": 1})
    url = f"{stack.base_url}/api/reports/{final['id']}"
    # When it is deleted
    resp = requests.delete(url, timeout=10)
    # Then it is forgotten: 204, and its status and report are gone (410: it did exist)
    assert resp.status_code == 204 and resp.content == b""
    for path in ("/status", "/download"):
        gone = requests.get(url + path, timeout=10)
        assert gone.status_code == 410, gone.text
        assert gone.headers["Content-Type"] == "application/problem+json"
    assert requests.delete(url, timeout=10).status_code == 410


def test_prefer_wait_answers_200_with_the_final_document_for_a_fast_job(stack: Stack) -> None:
    resp = submit(stack.base_url, "noop", {"steps": 2}, headers={"Prefer": "wait=20"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "Complete"
    assert resp.headers["Preference-Applied"] == "wait=20"
    assert "Prefer" in resp.headers["Vary"]
    assert resp.headers["Location"] == f"/api/reports/{resp.json()['id']}/status"


def test_prefer_wait_answers_202_when_the_job_is_slower(stack: Stack) -> None:
    started = time.monotonic()
    resp = submit(
        stack.base_url, "noop", {"steps": 20, "stepSeconds": 0.5}, headers={"Prefer": "wait=1"}
    )
    assert resp.status_code == 202
    assert resp.json()["status"] == "In Progress"
    assert resp.headers["Preference-Applied"] == "wait=1" and "Prefer" in resp.headers["Vary"]
    assert time.monotonic() - started >= 0.9  # it did wait
    requests.delete(f"{stack.base_url}/api/reports/{resp.json()['id']}", timeout=10)


def test_a_long_poll_returns_promptly_on_a_progress_change(stack: Stack) -> None:
    # Given a running job that takes a step every second
    job = submit(stack.base_url, "noop", {"steps": 6, "stepSeconds": 1.0}).json()
    doc = wait_until(stack, job["id"], lambda d: d["progress"]["current"] >= 1)
    current = status(stack, job["id"])
    # When the client long-polls with the tag it has
    started = time.monotonic()
    resp = status(stack, job["id"], Prefer="wait=30", **{"If-None-Match": current.headers["ETag"]})
    elapsed = time.monotonic() - started
    # Then the answer comes with the next step, far before the 30 s
    assert resp.status_code == 200
    assert (
        resp.json()["progress"]["current"] > doc["progress"]["current"]
        or resp.json()["status"] != "In Progress"
    )
    assert elapsed < 15, elapsed
    assert resp.headers["Preference-Applied"] == "wait=30"
    requests.delete(f"{stack.base_url}/api/reports/{job['id']}", timeout=10)


def test_if_none_match_gives_304_until_the_document_changes(stack: Stack) -> None:
    final, _ = run_job(stack.base_url, "noop", {"steps": 1})
    first = status(stack, final["id"])
    etag = first.headers["ETag"]
    again = status(stack, final["id"], **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = status(stack, final["id"], **{"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()
    # A long poll on a finished job does not wait: nothing will change
    started = time.monotonic()
    done = status(stack, final["id"], Prefer="wait=30", **{"If-None-Match": etag})
    assert done.status_code == 304 and time.monotonic() - started < 10
