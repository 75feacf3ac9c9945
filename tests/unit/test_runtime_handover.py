"""worker.runtime under fair sharing, against fakeredis: the in-flight place a claim frees
is refilled by the claim's own script, so the hand-over costs a worker no round trip of
its own: only the confirmation of what it published through Celery, and on a Redis
broker that is the store's (the script pushes the messages), not even that."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery

from jobs.broker_messages import RedisMessages
from jobs.celery_config import DEFAULT_QUEUE
from jobs.clients import WorkerClients
from jobs.store import JobRecord, JobStore, Keys
from jobs.store.fairness import FairQueue
from jobs.store.workers import WorkerRegistry
from tests.unit.support import CommandSpy, record
from tests.unit.test_runtime import KIND, StandInTask, run, worker_clients
from worker import runtime

__all__ = ["worker_clients"]  # the autouse fixture: the runtime writes to the fake Redis


class Publisher(SimpleNamespace):
    """A stand-in Celery app for the hand-over: the job ids it was asked to publish."""

    def __init__(self) -> None:
        super().__init__(published=[])

    def send_task(self, name: str, args: list[Any], task_id: str) -> None:
        self.published.append(task_id)


@pytest.fixture
def app(client: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Publisher:
    """One worker slot (1 + the margin of 2: three jobs in flight), serving the count kind."""
    monkeypatch.setattr(runtime, "kinds", lambda: {"count": KIND})
    WorkerRegistry(client, keys).register("w1@host", 1)
    return Publisher()


def jobs(n: int) -> list[JobRecord]:
    """`n` count jobs of client `a`, j0 first."""
    return [
        record(f"j{i}", kind="count", type="to", parameters={"steps": 0}, owner="a")
        for i in range(n)
    ]


def test_a_claim_refills_the_place_it_frees_in_its_own_round_trip(
    store: JobStore,
    worker_clients: WorkerClients,
    app: Publisher,
    spy: CommandSpy,
    client: Any,
    keys: Keys,
) -> None:
    # Given five jobs submitted: three handed over and published, two in the backlog
    fair = worker_clients.fair
    for job in jobs(5):
        fair.submit(job, 1, "normal", (0, 0))
    fair.mark(["j0", "j1", "j2"])
    run("j0", {"steps": 0}, StandInTask(app=app))  # scripts loaded; j3 handed over
    # When a worker runs the next one
    with spy.recording() as sent:
        run("j1", {"steps": 0}, StandInTask(app=app))
    # Then its claim handed j4 over in the same script: one more round trip confirms
    # the publish, one writes the outcome
    assert sent == ["EVALSHA", "EVALSHA", "EVAL"]
    assert app.published == ["j3", "j4"]
    assert {str(j) for j in client.zrange(keys.in_flight(), 0, -1)} == {"j2", "j3", "j4"}
    assert {str(j) for j in client.smembers(keys.published())} == {"j2", "j3", "j4"}
    assert client.zcard(keys.backlog("a")) == 0
    snap = store.read("j1")
    assert snap is not None and snap.record.finished_at is not None


def test_on_a_redis_broker_the_claim_pushes_the_next_job_itself(
    worker_clients: WorkerClients,
    app: Publisher,
    spy: CommandSpy,
    client: Any,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a Redis broker, five jobs submitted with their messages: three pushed to
    # the broker by their submits, two waiting in the backlog
    fair = FairQueue(client, keys, 3600, 7200, 2, 3600, DEFAULT_QUEUE)
    monkeypatch.setattr(worker_clients, "fair", fair)
    messages = RedisMessages(Celery("test", set_as_current=False))
    for job in jobs(5):
        fair.submit(job, 1, "normal", (0, 0), messages.render("counts.to", job.id, {"steps": 0}))
    run("j0", {"steps": 0}, StandInTask(app=app))  # scripts loaded; j3 pushed
    # When a worker runs the next one
    with spy.recording() as sent:
        run("j1", {"steps": 0}, StandInTask(app=app))
    # Then its claim pushed j4 to the broker in the same script: nothing was published
    # through Celery and nothing is left to confirm; one more round trip writes the outcome
    assert sent == ["EVALSHA", "EVAL"]
    assert app.published == []
    queued = [json.loads(m)["headers"]["id"] for m in client.lrange(DEFAULT_QUEUE, 0, -1)]
    assert queued == ["j4", "j3", "j2", "j1", "j0"]
    assert {str(j) for j in client.smembers(keys.published())} == {"j2", "j3", "j4"}
