"""Transient errors are retried with backoff (state `retrying`); permanent ones fail at once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from devstack.stack import free_port
from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def test_unreachable_database_is_retried_visibly_then_fails_and_bugs_fail_at_once(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a sales database URL where nothing listens (connection refused), two retries
    nowhere = f"postgresql+psycopg://reports@127.0.0.1:{free_port()}/sales"
    fs = fault_stack(workers=1, DATABASE_URL=nowhere, TASK_MAX_RETRIES="2")
    # When a report that needs the database and one that fails on purpose are submitted
    transient = fs.submit("yearly-sales", {"year": 2023})
    permanent = fs.submit_noop(steps=3, failAtStep=1)
    # Then the first shows `retrying` while it waits for its next try
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        doc = fs.status(transient)
        seen.add(doc["state"])
        if doc["status"] != "In Progress":
            break
        time.sleep(0.05)
    assert "retrying" in seen, seen
    assert doc["status"] == "In Progress" or doc["state"] == "failed"
    # And after its retries it fails saying the database was unreachable
    final = fs.wait_all([transient], timeout=30)[transient]
    assert final["status"] == "Failed"
    assert final["error"]["type"].endswith("/temporarily-unavailable")
    assert "could not be reached" in final["error"]["detail"]
    assert int(fs.record(transient)["attempts"]) == 3  # the first try and two retries
    # And the permanent error failed on its only try
    bad = fs.wait_all([permanent])[permanent]
    assert bad["status"] == "Failed" and "fail at step 1" in bad["error"]["detail"]
    assert int(fs.record(permanent)["attempts"]) == 1
