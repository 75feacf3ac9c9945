"""Fair sharing on a Redis broker (jobs/broker_messages.py), against fakeredis: the web
renders each job's broker message at submit and the hand-over script that moves the job
to the in-flight set pushes it to the queue itself, so a submission is one round trip and
no publish, and a job that is dropped before its hand-over leaves no message behind."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from flask import Flask

from app.services.backend import Backend
from jobs.broker_messages import RedisMessages, pushes_to_redis
from jobs.celery_config import DEFAULT_QUEUE
from jobs.clients import web_celery
from jobs.store import Keys
from jobs.store.fairness import FairQueue, TakeResult
from tests.unit.support import RETENTION, TOMBSTONE, CommandSpy, record
from tests.unit.test_polls import StubProducer, make_app, producer

__all__ = ["producer"]  # the fixture: what the web would publish through Celery

BODY = {"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 0}}


@pytest.fixture
def renderer(backend: Backend) -> RedisMessages:
    return RedisMessages(web_celery(backend.settings))


@pytest.fixture
def pushing_app(backend: Backend, producer: StubProducer, renderer: RedisMessages) -> Flask:
    """The web app as on a Redis broker that is its own Redis."""
    backend.celery = producer  # type: ignore[assignment]
    backend.broker_messages = renderer
    assert backend.fair.broker_queue == DEFAULT_QUEUE
    return make_app(backend)


def queued_ids(client: Any) -> list[str]:
    """The job ids of the messages in the broker's queue, oldest first."""
    return [json.loads(m)["headers"]["id"] for m in reversed(client.lrange(DEFAULT_QUEUE, 0, -1))]


def test_a_submission_is_one_round_trip_and_its_script_enqueues_the_message(
    pushing_app: Flask, producer: StubProducer, spy: CommandSpy, client: Any, keys: Keys
) -> None:
    # Given the web on a Redis broker, its scripts loaded by a first submission
    web = pushing_app.test_client()
    first = web.post("/api/reports", json=BODY).get_json()["id"]
    # When a job is submitted while the broker has room
    with spy.recording() as sent:
        resp = web.post("/api/reports", json=BODY)
    # Then quotas, record, backlog, hand-over and the push to the broker were one script:
    # nothing was published through Celery, and nothing is left to confirm
    assert resp.status_code == 202
    job_id = resp.get_json()["id"]
    assert sent == ["EVALSHA"]
    assert producer.sent == []
    assert queued_ids(client) == [first, job_id]
    assert client.sismember(keys.published(), job_id)
    assert not client.exists(keys.broker_message(job_id))
    # And the message is the one Celery would publish for the job's task
    message = json.loads(client.lindex(DEFAULT_QUEUE, 0))
    assert message["headers"]["task"] == "reports.noop"
    assert message["properties"]["delivery_info"] == {"exchange": "", "routing_key": "jobs"}


def test_a_job_waiting_in_its_backlog_keeps_its_message_until_a_claim_hands_it_over(
    pushing_app: Flask, client: Any, keys: Keys
) -> None:
    # Given four jobs submitted with no worker (one slot + the margin of 2 in flight)
    web = pushing_app.test_client()
    ids = [web.post("/api/reports", json=BODY).get_json()["id"] for _ in range(4)]
    # Then three are in the broker and the fourth waits, its message kept for its hand-over
    assert queued_ids(client) == ids[:3]
    assert client.exists(keys.broker_message(ids[3]))
    assert client.ttl(keys.broker_message(ids[3])) > RETENTION - 10
    # When a heartbeat's hand-over finds room (a worker took the first one)
    client.zrem(keys.in_flight(), ids[0])
    taken = FairQueue(client, keys, RETENTION, TOMBSTONE, 2, 3600, DEFAULT_QUEUE).take()
    # Then the script pushed it: nothing for the caller to publish
    assert taken.jobs == []
    assert queued_ids(client) == ids
    assert not client.exists(keys.broker_message(ids[3]))


def fill_the_broker(fair: FairQueue, renderer: RedisMessages) -> list[str]:
    """Four jobs of client `a` submitted with their messages and no worker (one slot +
    the margin of 2): three pushed to the broker, the fourth waiting in its backlog."""
    jobs = [record(f"j{i}", owner="a", created=time.time(), type="noop") for i in range(4)]
    for job in jobs:
        fair.submit(job, 1, "normal", (0, 0), renderer.render("reports.noop", job.id, {}))
    return [job.id for job in jobs]


def test_a_job_cancelled_in_its_backlog_leaves_no_message(
    backend: Backend, renderer: RedisMessages, client: Any, keys: Keys
) -> None:
    # Given a full broker and a job waiting in its backlog with its message
    fill_the_broker(backend.fair, renderer)
    assert client.exists(keys.broker_message("j3"))
    # When it is cancelled before its hand-over, and a place frees
    client.hset(keys.job("j3"), "cancel", "1")
    client.zrem(keys.in_flight(), "j0")
    taken = backend.fair.take()
    # Then the hand-over dropped it with its message, and pushed nothing
    assert taken.jobs == [] and len(queued_ids(client)) == 3
    assert not client.exists(keys.broker_message("j3"))


def test_a_job_its_client_cancels_in_its_backlog_leaves_no_message(
    backend: Backend, renderer: RedisMessages, client: Any, keys: Keys
) -> None:
    # Given a job waiting in its backlog with its message (the broker full)
    fill_the_broker(backend.fair, renderer)
    # When its client cancels it
    backend.jobs.request_cancel("j3", queued=True, owner="a")
    # Then it left its backlog with its message
    assert client.zscore(keys.backlog("a"), "j3") is None
    assert not client.exists(keys.broker_message("j3"))


def test_a_withdrawn_job_leaves_nothing_behind(
    backend: Backend, renderer: RedisMessages, client: Any, keys: Keys
) -> None:
    # Given a job handed over (in flight, published) and one waiting with its message,
    # both counted by the client's quotas
    fair = backend.fair
    jobs = [record(f"j{i}", owner="a", created=time.time(), type="noop") for i in range(4)]
    for job in jobs:
        message = renderer.render("reports.noop", job.id, {})
        assert isinstance(fair.submit(job, 1, "normal", (5, 10), message), TakeResult)
    # When both are withdrawn (their submits failed)
    for job in (jobs[0], jobs[3]):
        fair.withdraw(job)
    # Then no trace of either is left: record, tombstone, message, indexes, quotas
    for job_id in ("j0", "j3"):
        for key in (keys.job(job_id), keys.tombstone(job_id), keys.broker_message(job_id)):
            assert not client.exists(key), key
        for key in (keys.queued(), keys.owner_jobs("a", "report"), keys.backlog("a")):
            assert client.zscore(key, job_id) is None, key
        assert client.zscore(keys.in_flight(), job_id) is None
        assert not client.sismember(keys.published(), job_id)
        assert not client.sismember(keys.unfinished("a"), job_id)
        assert client.zscore(keys.submits("a"), job_id) is None
    # And the others are untouched
    assert client.exists(keys.job("j1")) and client.sismember(keys.unfinished("a"), "j1")


def test_only_the_stores_own_redis_takes_pushed_messages(backend: Backend) -> None:
    base = dataclasses.replace(backend.settings, celery_broker_url="")
    assert pushes_to_redis(base)
    other_db = base.redis_url.rsplit("/", 1)[0] + "/3"
    assert not pushes_to_redis(dataclasses.replace(base, celery_broker_url=other_db))
    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    assert not pushes_to_redis(dataclasses.replace(base, celery_broker_url=amqp))
    assert not pushes_to_redis(dataclasses.replace(base, fair_sharing=False))
