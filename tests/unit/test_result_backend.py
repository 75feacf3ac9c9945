"""jobs.result_backend against fakeredis: a state that is not final never replaces a
final one, even when Celery's own check (read, then write) lost the race."""

from __future__ import annotations

import json

import fakeredis
import pytest
from celery import states

from jobs.clients import worker_celery
from jobs.result_backend import GuardedRedisBackend
from jobs.settings import Settings


@pytest.fixture
def backend() -> tuple[GuardedRedisBackend, fakeredis.FakeRedis]:
    b = worker_celery(Settings(redis_url="redis://127.0.0.1:1/0")).backend
    assert isinstance(b, GuardedRedisBackend)
    fake = fakeredis.FakeRedis()
    b.client = fake
    return b, fake


@pytest.mark.parametrize("final", [states.SUCCESS, states.FAILURE, states.REVOKED])
def test_a_late_started_never_replaces_a_final_state(
    backend: tuple[GuardedRedisBackend, fakeredis.FakeRedis], final: str
) -> None:
    b, fake = backend
    key = b.get_key_for_task("job-1")
    fake.set(key, json.dumps({"status": final, "result": None}))
    # When a run's STARTED, read as PENDING before the end was stored, is written after it
    b._set_with_state(key, json.dumps({"status": states.STARTED}), states.STARTED)
    # Then the final state stands
    assert json.loads(fake.get(key))["status"] == final


def test_states_before_the_end_are_written_kept_and_announced(
    backend: tuple[GuardedRedisBackend, fakeredis.FakeRedis],
) -> None:
    b, fake = backend
    pubsub = fake.pubsub()
    pubsub.subscribe(b.get_key_for_task("job-1"))
    pubsub.get_message(timeout=1)
    b.store_result("job-1", None, states.STARTED)
    b.store_result("job-1", {"n": 1}, states.SUCCESS)
    key = b.get_key_for_task("job-1")
    assert json.loads(fake.get(key))["status"] == states.SUCCESS
    assert 0 < fake.ttl(key) <= b.expires
    message = pubsub.get_message(timeout=1)
    assert message is not None and json.loads(message["data"])["status"] == states.STARTED
