"""Time limits: the soft one stops a job cleanly, the hard one replaces the process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jobs.problems import TIME_LIMIT
from tests.faults.harness import HARD_LIMIT_ONLY, FaultStack

pytestmark = pytest.mark.faults


def test_soft_time_limit_fails_the_job_cleanly_with_a_clear_error(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a soft limit of 2 s (hard 4 s) and a job that needs 5 s
    fs = fault_stack(
        workers=1, WORKER_CONCURRENCY="1", TASK_SOFT_TIME_LIMIT="2", TASK_TIME_LIMIT="4"
    )
    children = {c.pid for c in fs.pool_children(fs.workers[0])}
    slow = fs.submit_noop(steps=10, step_seconds=0.5)
    # Then it fails with the time-limit error naming the limit and the setting
    doc = fs.wait_all([slow], timeout=30)[slow]
    assert doc["status"] == "Failed"
    assert doc["error"]["type"] == TIME_LIMIT["type"]
    assert "2 seconds" in doc["error"]["detail"]
    assert "TASK_SOFT_TIME_LIMIT" in doc["error"]["detail"]
    # And it stopped inside the process: no replacement, no redelivery, no completion
    assert {c.pid for c in fs.pool_children(fs.workers[0])} == children
    assert int(fs.record(slow)["attempts"]) == 1
    assert fs.completions(slow) == 0
    after = fs.submit_noop(steps=1)
    assert fs.wait_all([after])[after]["status"] == "Complete"


def test_hard_time_limit_kills_the_process_fails_the_job_and_the_pool_recovers(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a hard limit of 2 s and no soft limit (as if the job ignored the soft one,
    # or were stuck in C code), and a job of 5 s
    fs = fault_stack(workers=1, **HARD_LIMIT_ONLY, BROKER_VISIBILITY_TIMEOUT="8")
    children = {c.pid for c in fs.pool_children(fs.workers[0])}
    slow = fs.submit_noop(steps=10, step_seconds=0.5)
    # Then the job fails with the time-limit error (Celery's TimeLimitExceeded)
    doc = fs.wait_all([slow], timeout=30)[slow]
    assert doc["status"] == "Failed"
    assert doc["error"]["type"] == TIME_LIMIT["type"]
    # And the process running it was replaced, the job was not handed out again
    fs.wait_for_log("Hard time limit (2", timeout=10)
    fs.wait_for_log("exited with 'signal 9 (SIGKILL)'", timeout=10)
    assert not {c.pid for c in fs.pool_children(fs.workers[0])} & children
    assert int(fs.record(slow)["attempts"]) == 1
    assert fs.completions(slow) == 0
    # And the worker goes on with the next job
    after = fs.submit_noop(steps=1)
    assert fs.wait_all([after])[after]["status"] == "Complete"
