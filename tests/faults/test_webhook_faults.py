"""Webhook deliveries survive a SIGKILLed webhook worker and a Redis restart."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.faults.harness import HARD_LIMIT_ONLY, FaultStack
from tests.integration.receiver import Receiver, running_receiver
from tests.integration.webhooks import start_webhook_worker

pytestmark = pytest.mark.faults

WEBHOOK_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver is on 127.0.0.1
    "WEBHOOK_RETRY_SCHEDULE": "0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
    "WEBHOOK_POLL_INTERVAL": "0.1",
    "WEBHOOK_TIMEOUT": "1",  # so a lease (2 x timeout + 10 s) ends within seconds
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def submit_hooked(
    fs: FaultStack, url: str, parameters: dict[str, Any] | None = None, **fields: Any
) -> str:
    """A noop job (one step unless `parameters` say otherwise) with a webhook to `url`."""
    resp = requests.post(
        f"{fs.base_url}/api/reports",
        json={
            "reportType": "noop",
            "parameters": {"steps": 1} if parameters is None else parameters,
            "webhook": url,
            **fields,
        },
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def delivered_jobs(receiver: Receiver, path: str) -> set[str]:
    return {r.event["data"]["id"] for r in receiver.at(path)}


def assert_duplicates_are_the_same_event(receiver: Receiver, path: str) -> None:
    for webhook_id, copies in receiver.ids_at(path).items():
        assert len({c.body for c in copies}) == 1, webhook_id


def test_every_event_arrives_after_the_webhook_worker_is_killed(
    fault_stack: Callable[..., FaultStack], receiver: Receiver
) -> None:
    # Given six finished jobs whose deliveries a slow receiver is still answering
    fs = fault_stack(workers=1, **WEBHOOK_ENV)
    receiver.delays["/slow"] = 3.0
    jobs = [submit_hooked(fs, receiver.url("/slow")) for _ in range(6)]
    fs.wait_all(jobs)
    start_webhook_worker(fs.stack, "hooks-a")
    receiver.wait_for(lambda: len(receiver.at("/slow")) >= 1, what="a first attempt")
    # When the webhook worker is SIGKILLed mid-attempt, and another one starts
    fs.kill_worker("hooks-a")
    receiver.delays["/slow"] = 0.0
    start_webhook_worker(fs.stack, "hooks-b")
    # Then every job's event arrives (at least once), duplicates under the same webhook-id
    receiver.wait_for(lambda: delivered_jobs(receiver, "/slow") == set(jobs), timeout=90)
    assert_duplicates_are_the_same_event(receiver, "/slow")
    # And the log of each job shows its delivery succeeded
    for job in jobs:
        wait_succeeded(fs, job)


def wait_succeeded(fs: FaultStack, job: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = requests.get(f"{fs.base_url}/api/reports/{job}/webhooks", timeout=10).json()[
            "items"
        ]
        if items and all(d["status"] == "succeeded" for d in items):
            return list(items)
        assert time.monotonic() < deadline, items
        time.sleep(0.2)


def test_every_event_arrives_after_a_redis_restart(
    fault_stack: Callable[..., FaultStack], receiver: Receiver
) -> None:
    # Given deliveries waiting for their retries (the receiver answers 503 for now)
    # (a schedule of 40 retries a second apart: far longer than the restart takes)
    fs = fault_stack(workers=1, **{**WEBHOOK_ENV, "WEBHOOK_RETRY_SCHEDULE": ",".join(["1"] * 40)})
    receiver.scripts["/later"] = [503]
    start_webhook_worker(fs.stack, "hooks")
    jobs = [submit_hooked(fs, receiver.url("/later")) for _ in range(4)]
    fs.wait_all(jobs)
    receiver.wait_for(lambda: delivered_jobs(receiver, "/later") == set(jobs), timeout=60)
    time.sleep(1.2)  # the append-only file is flushed every second
    # When Redis crashes and comes back on the same data, and the receiver recovers
    fs.redis.kill(signal.SIGKILL)
    time.sleep(1.0)
    fs.redis.start()
    receiver.scripts["/later"] = [200]
    # Then every event is delivered with a 200, under the ids it had before
    before = set(receiver.ids_at("/later"))

    def answered() -> bool:
        ok = {r.event["data"]["id"] for r in receiver.at("/later") if r.answered == 200}
        return ok == set(jobs)

    receiver.wait_for(answered, timeout=90, what="successful deliveries")
    assert set(receiver.ids_at("/later")) == before
    assert_duplicates_are_the_same_event(receiver, "/later")
    for job in jobs:
        wait_succeeded(fs, job, timeout=90)


def test_a_job_killed_by_the_hard_time_limit_still_sends_its_end(
    fault_stack: Callable[..., FaultStack], receiver: Receiver
) -> None:
    # Given a job that outlives a hard limit of 2 s (no soft limit), with a webhook
    fs = fault_stack(workers=1, **HARD_LIMIT_ONLY, **WEBHOOK_ENV)
    start_webhook_worker(fs.stack, "hooks")
    job = submit_hooked(fs, receiver.url("/killed"), {"steps": 10, "stepSeconds": 0.5})
    # When its pool process is killed and the job fails
    assert fs.wait_all([job], timeout=30)[job]["status"] == "Failed"
    # Then its job.failed event arrives, once
    receiver.wait_for(lambda: len(receiver.at("/killed")) == 1)
    (got,) = receiver.at("/killed")
    assert got.event["type"] == "job.failed" and got.event["data"]["status"] == "Failed"
    assert [d["status"] for d in wait_succeeded(fs, job)] == ["succeeded"]


TERMINAL_EVENTS = {"job.completed", "job.failed", "job.cancelled"}


@pytest.mark.parametrize("hooks_running", [False, True], ids=["deliveries-pending", "sending"])
def test_every_terminal_event_arrives_once_after_a_job_worker_is_killed(
    fault_stack: Callable[..., FaultStack], receiver: Receiver, hooks_running: bool
) -> None:
    # Given six jobs half-way through on one job worker, asking for every event, while no
    # webhook worker runs (so their started/progress deliveries are recorded and pending),
    # or while one sends them as they are recorded
    fs = fault_stack(workers=0, **WEBHOOK_ENV)
    if hooks_running:
        start_webhook_worker(fs.stack, "hooks-early")
    victim = fs.start_worker({"WORKER_CONCURRENCY": "6"})
    jobs = [
        submit_hooked(
            fs,
            receiver.url("/jobs"),
            {"steps": 12, "stepSeconds": 0.25},
            webhookEvents=["started", "progress", "completed"],
        )
        for _ in range(6)
    ]
    for job in jobs:
        fs.wait_progress(job, steps=2)
    # When that job worker is SIGKILLed (main process and pool) while the jobs record
    # their progress, another job worker starts, and then a webhook worker
    fs.kill_worker(victim)
    fs.start_worker()
    if not hooks_running:
        start_webhook_worker(fs.stack, "hooks")
    # Then every job is run again and completes
    done = fs.wait_all(jobs, timeout=90)
    assert {d["status"] for d in done.values()} == {"Complete"}, done
    assert [int(fs.record(job)["attempts"]) for job in jobs] == [2] * 6

    def terminal(job: str) -> list[Any]:
        return [
            r
            for r in receiver.at("/jobs")
            if r.event["data"]["id"] == job and r.event["type"] in TERMINAL_EVENTS
        ]

    receiver.wait_for(lambda: all(terminal(job) for job in jobs), timeout=60, what="job ends")
    for job in jobs:
        wait_succeeded(fs, job)  # every delivery of the job, the pending ones included
    # And each job's end arrived exactly once: one event, one webhook-id, one request
    for job in jobs:
        (end,) = terminal(job)
        assert end.event["type"] == "job.completed" and end.answered == 200
    # And the events recorded before the kill were not lost: each job's first start
    started = {
        r.event["data"]["id"] for r in receiver.at("/jobs") if r.event["type"] == "job.started"
    }
    assert started == set(jobs)
    # And no webhook-id was delivered twice (the webhook worker was never hurt)
    twice = {i: len(c) for i, c in receiver.ids_at("/jobs").items() if len(c) > 1}
    assert not twice, twice
