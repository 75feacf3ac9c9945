"""SIGTERM (docker stop, a platform's restart): finish or hand back, within the grace."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def test_sigterm_finishes_short_jobs_and_hands_back_long_ones_at_once(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given a worker (grace 1 s) running a job that ends within the grace and one that
    # would not (10 s), and no other worker yet
    fs = fault_stack(
        workers=1,
        WORKER_CONCURRENCY="2",
        TASK_SOFT_TIME_LIMIT="20",
        TASK_TIME_LIMIT="25",
        BROKER_VISIBILITY_TIMEOUT="60",
    )
    short = fs.submit_noop(steps=4, step_seconds=0.2)
    long = fs.submit_noop(steps=40, step_seconds=0.25)
    fs.wait_progress(short)
    fs.wait_progress(long)
    worker = fs.workers[0]
    # When the platform sends SIGTERM to the worker's process group, as Heroku does
    # (docker stop signals only the main process; the Procfile's `exec` makes that celery)
    fs.stack.stop(worker, signal.SIGTERM, timeout=30)
    # Then the worker is gone after the grace, without running the long job to its end
    # (a check of what happened, not of how long it took: the machine may be loaded)
    assert "finishedAt" not in fs.record(long)
    # And the short job completed there, while the long one is back in the queue at once
    # (not after the 60 s visibility timeout)
    assert fs.wait_all([short], timeout=5)[short]["status"] == "Complete"
    assert fs.waiting() == 1
    # When another worker starts, it completes the long job; each job completed once
    fs.start_worker()
    done = fs.wait_all([long], timeout=30)
    assert done[long]["status"] == "Complete"
    assert [fs.completions(short), fs.completions(long)] == [1, 1]
    assert [int(fs.record(j)["attempts"]) for j in (short, long)] == [1, 2]
