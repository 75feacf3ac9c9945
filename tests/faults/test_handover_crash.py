"""The process handing fairly ordered jobs to the broker dies mid-way: nothing is lost,
nothing runs twice (jobs/store/fairness.py: unconfirmed hand-overs are published again)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest
import requests

from jobs.store.fairness import STALE_SECONDS, FairQueue
from jobs.store.keys import Keys
from tests.faults.harness import FaultStack, wait_web

pytestmark = pytest.mark.faults


def test_a_hand_over_cut_between_taking_and_publishing_is_published_again(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given jobs in the backlog and no worker yet (web only)
    fs = fault_stack(workers=0)
    jobs = [fs.submit_noop(steps=1, step_seconds=0.05) for _ in range(8)]
    keys = Keys()
    client = fs.redis.client()
    in_broker = set(map(str, client.zrange(keys.in_flight(), 0, -1)))
    # When a process moves the next jobs to in-flight and dies before publishing them
    # (what a web or worker killed at that instant leaves behind: the same script, no publish)
    cut = FairQueue(client, keys, 3600, 7200, 10, 3600).take()
    orphaned = [j.id for j in cut.jobs]
    assert orphaned and not set(orphaned) & in_broker
    # And workers come up later
    fs.start_worker(env={"WORKER_CONCURRENCY": "2"})
    # Then every job completes, each exactly once, the orphaned ones after STALE_SECONDS
    done = fs.wait_all(jobs, timeout=STALE_SECONDS + 40)
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert [fs.completions(j) for j in jobs] == [1] * len(jobs)
    assert all(fs.record(j)["attempts"] == "1" for j in jobs)


def test_web_killed_during_a_burst_of_submissions_loses_no_accepted_job(
    fault_stack: Callable[..., FaultStack],
) -> None:
    # Given one worker and a client submitting as fast as it can
    fs = fault_stack(workers=1, WORKER_CONCURRENCY="2")
    accepted: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        while not stop.is_set():
            try:
                resp = requests.post(
                    f"{fs.base_url}/api/reports",
                    json={"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0.02}},
                    timeout=5,
                )
            except requests.RequestException:
                time.sleep(0.05)
                continue
            if resp.status_code == 202:
                accepted.append(str(resp.json()["id"]))

    thread = threading.Thread(target=burst, daemon=True)
    thread.start()
    time.sleep(1.5)
    # When the web is SIGKILLed mid-burst (some submit is between its steps), then restarted
    fs.stack.stop("web", signal.SIGKILL)
    time.sleep(0.5)
    fs.stack.start("web")
    wait_web(fs)
    time.sleep(1.0)
    stop.set()
    thread.join(10)
    assert len(accepted) > 20, len(accepted)
    # Then every job that was accepted completes, and none ran twice
    done = fs.wait_all(accepted, timeout=STALE_SECONDS + 60)
    assert {d["status"] for d in done.values()} == {"Complete"}
    assert max(fs.completions(j) for j in accepted) == 1
