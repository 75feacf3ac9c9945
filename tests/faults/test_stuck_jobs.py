"""Jobs that will never finish on their own end in Failed, saying why; never In Progress forever."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jobs.problems import NOT_STARTED, WORKER_LOST
from tests import brokers
from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def test_a_job_whose_worker_vanished_for_good_fails_and_is_never_run_later(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a job running on the only worker
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="1")
    lost = fs.submit_noop(steps=8, step_seconds=0.25)
    fs.wait_progress(lost)
    # When that worker dies and no worker takes the job over within its deadline
    # (visibility timeout 8 s + restore scan 2 s + 10 s slack)
    fs.kill_worker(fs.workers[0])
    # Then the job ends Failed with an error that says what happened, without a 500
    doc = fs.wait_state(lost, {"failed"}, timeout=40)
    assert doc["status"] == "Failed"
    assert doc["error"]["type"] == WORKER_LOST["type"]
    assert "submit it again" in doc["error"]["detail"]
    # When a worker comes back and Redis finally redelivers the abandoned message
    fs.start_worker()
    later = fs.submit_noop(steps=1)
    fs.wait_all([later], timeout=30)
    fs.wait_for_log(f"job {lost} is finished; dropping this delivery", timeout=30)
    # Then the failed job stays Failed and never ran to completion: no second truth
    assert fs.status(lost)["status"] == "Failed"
    assert fs.completions(lost) == 0
    assert fs.completions(later) == 1


def test_a_queued_job_that_no_worker_starts_fails_after_the_queue_timeout(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given no worker at all, a 3 s queue timeout, and two accepted jobs, one of
    # whose messages is lost (a Redis failover without persistence, an operator's purge)
    fs = fault_stack(workers=0, JOB_QUEUE_TIMEOUT="3")
    kept, dropped = fs.submit_noop(steps=1), fs.submit_noop(steps=1)
    brokers.drop_message(fs.broker_url, dropped)
    assert fs.waiting() == 1
    # Then both end Failed, saying that no worker started them, once the timeout passed
    for job_id in (kept, dropped):
        doc = fs.wait_state(job_id, {"failed"}, timeout=20)
        assert doc["error"]["type"] == NOT_STARTED["type"]
        assert "3 seconds" in doc["error"]["detail"]
    # When a worker finally starts, the surviving message is dropped, not run
    fs.start_worker()
    fs.wait_for_log(f"job {kept} is finished; dropping this delivery", timeout=30)
    assert [fs.status(j)["status"] for j in (kept, dropped)] == ["Failed", "Failed"]
    assert fs.completions(kept) == 0
