"""A worker killed mid-job: the job is redelivered and completes, its result stored once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from tests.faults.harness import FaultStack

pytestmark = pytest.mark.faults


def test_pool_child_killed_mid_job_is_redelivered_and_completes_once(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given one worker with two pool processes, both busy, and two jobs queued behind
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="2")
    running = [fs.submit_noop(steps=8, step_seconds=0.25) for _ in range(2)]
    queued = [fs.submit_noop(steps=2, step_seconds=0.1) for _ in range(2)]
    for job_id in running:
        fs.wait_progress(job_id)
    worker = fs.workers[0]
    # When both pool processes are SIGKILLed mid-job (as the kernel's OOM killer would)
    victims = fs.pool_children(worker)
    assert len(victims) == 2
    for child in victims:
        child.send_signal(signal.SIGKILL)
    # Then every job completes, each ran to completion exactly once, and the killed
    # ones ran twice in all (the requeue is immediate: no visibility timeout to wait)
    done = fs.wait_all(running + queued, timeout=60)
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert [fs.completions(j) for j in running + queued] == [1, 1, 1, 1]
    assert [int(fs.record(j)["attempts"]) for j in running] == [2, 2]
    assert [int(fs.record(j)["attempts"]) for j in queued] == [1, 1]
    # And the worker replaced its pool processes and is still the same worker
    assert fs.stack.processes[worker].poll() is None
    assert not {c.pid for c in victims} & {c.pid for c in fs.pool_children(worker)}


def test_whole_worker_killed_mid_job_is_redelivered_to_another_worker(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given two workers of one process each, each running one job
    fs = fault_stack(workers=2, WORKER_CONCURRENCY="1")
    running = [fs.submit_noop(steps=8, step_seconds=0.25) for _ in range(2)]
    for job_id in running:
        fs.wait_progress(job_id)
    victim, survivor = fs.workers
    lost = [j for j in running if fs.record(j)["worker"].startswith(victim + "@")]
    assert len(lost) == 1
    # When the whole first worker is SIGKILLed (main process and pool, like a node loss)
    killed_at = time.monotonic()
    fs.kill_worker(victim)
    later = [fs.submit_noop(steps=1) for _ in range(3)]
    # Then its job is handed to the other worker after the visibility timeout and completes;
    # nothing is lost and nothing completes twice
    done = fs.wait_all(running + later, timeout=90)
    redelivered_after = time.monotonic() - killed_at
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert [fs.completions(j) for j in running + later] == [1] * 5
    assert int(fs.record(lost[0])["attempts"]) == 2
    assert fs.record(lost[0])["worker"].startswith(survivor + "@")
    # (bounded: visibility timeout 8 s + the 2 s restore scan interval + the 2 s job)
    assert redelivered_after < 8 + 2 + 2 + 10


def test_a_job_that_keeps_killing_its_process_fails_instead_of_looping(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given at most two deliveries per job, and a job whose pool process dies each time
    # (as one needing more memory than the machine has would)
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="1", TASK_MAX_DELIVERIES="2")
    worker = fs.workers[0]
    doomed = fs.submit_noop(steps=8, step_seconds=0.25)
    for attempt in (1, 2):
        # (the run has claimed the job: it is inside the task body)
        deadline = time.monotonic() + 30
        while int(fs.record(doomed).get("attempts", 0)) < attempt:
            assert time.monotonic() < deadline, fs.record(doomed)
            time.sleep(0.05)
        (child,) = fs.pool_children(worker)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    # Then its third delivery is refused: it fails saying the worker kept stopping
    doc = fs.wait_all([doomed], timeout=30)[doomed]
    assert doc["status"] == "Failed"
    assert doc["error"]["type"].endswith("/worker-lost")
    assert "started 2 times" in doc["error"]["detail"]
    assert fs.completions(doomed) == 0
    # And the worker goes on with other jobs
    after = fs.submit_noop(steps=1)
    assert fs.wait_all([after])[after]["status"] == "Complete"
