"""Pool processes SIGKILLed again and again under a queue: which jobs end Failed, and why.

TASK_MAX_DELIVERIES counts every run of a job that its worker did not survive, and a
kill from outside cannot be told from one the job caused (an out-of-memory kill is a
SIGKILL too). So a job that happens to be running through more than
TASK_MAX_DELIVERIES kills ends `Failed` (`worker-lost`) although it caused none of
them; every other job completes, exactly once.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults

MAX_DELIVERIES = 2
MAX_ROUNDS = 12


def test_kills_the_jobs_did_not_cause_still_count_towards_max_deliveries(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given one worker of two pool processes, two deliveries a job, and four long jobs
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="2", TASK_MAX_DELIVERIES=str(MAX_DELIVERIES))
    worker = fs.workers[0]
    # (3 s each, under the 5 s soft limit: a job no kill hits completes. Redis requeues a
    # killed run's job at the tail, so the kills rotate over the four; RabbitMQ puts it
    # back at the head, so the same two are hit round after round and the others complete.)
    jobs = [fs.submit_noop(steps=12, step_seconds=0.25) for _ in range(4)]

    def attempts() -> list[int]:
        return [int(fs.record(j).get("attempts", 0)) for j in jobs]

    # When both pool processes are SIGKILLed each time a new run began, round after
    # round, until some job has been started more than TASK_MAX_DELIVERIES times
    seen = 0
    for _ in range(MAX_ROUNDS):
        deadline = time.monotonic() + 30
        while sum(attempts()) <= seen:
            assert time.monotonic() < deadline, [fs.record(j) for j in jobs]
            time.sleep(0.05)
        time.sleep(0.3)  # let the other pool process claim its job too
        # (one read for both: a claim between a check and the count would be counted
        # unchecked, and the loop would wait for a claim that never comes)
        now = attempts()
        if max(now) > MAX_DELIVERIES:
            break
        seen = sum(now)
        for child in fs.pool_children(worker):
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    done = fs.wait_all(jobs, timeout=120)
    failed = {j for j, d in done.items() if d["status"] == "Failed"}
    # Then some jobs end Failed, although none of them caused a kill: exactly those
    # started more than TASK_MAX_DELIVERIES times, each failing as `worker-lost`
    assert failed
    assert {d["status"] for d in done.values()} <= {"Complete", "Failed"}
    over = {j for j in jobs if int(fs.record(j)["attempts"]) > MAX_DELIVERIES}
    assert failed == over, {j: fs.record(j)["attempts"] for j in failed ^ over}
    for j in failed:
        assert done[j]["error"]["type"].endswith("/worker-lost")
        assert f"started {MAX_DELIVERIES} times" in done[j]["error"]["detail"]
        assert fs.completions(j) == 0
    # And every other job completed exactly once
    assert all(fs.completions(j) == 1 for j in set(jobs) - failed)
