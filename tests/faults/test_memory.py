"""Bounded memory: pool processes are recycled after a number of jobs (and above a size)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def test_pool_processes_are_replaced_every_n_jobs_without_losing_any(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given one pool process that is replaced after every 4 jobs
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="1", WORKER_MAX_TASKS_PER_CHILD="4")
    # When 12 jobs run
    jobs = [fs.submit_noop(steps=1) for _ in range(12)]
    done = fs.wait_all(jobs, timeout=60)
    # Then all complete, once each, in at least three successive processes
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert [fs.completions(j) for j in jobs] == [1] * 12
    # (Celery's text lines: "INFO/ForkPoolWorker-2] Task ..."; JSON lines (LOG_FORMAT=json):
    # "process": "ForkPoolWorker-2", "message": "Task ...")
    pool_process = r'(ForkPoolWorker-\d+)(?:\] |", "message": ")Task reports\.noop'
    ran_in = set(re.findall(pool_process, fs.all_logs()))
    assert len(ran_in) >= 3, ran_in
