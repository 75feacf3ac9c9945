"""The workers' result backend (jobs.store.celery_results) against fakeredis: Celery's
states stored as Celery's Redis backend stores them, in one round trip each, and a
SUCCESS never overwritten."""

from __future__ import annotations

import json
from collections.abc import Iterator

import fakeredis
import pytest
from celery import Celery, states

from jobs.celery_config import celery_config
from jobs.settings import Settings
from jobs.store.celery_results import OneTripRedisBackend, backend_url
from jobs.store.keys import CELERY_META_PREFIX
from tests.unit.support import CommandSpy, Subscribe

TASK = "3b2f0c1e-1111-4222-8333-944455556666"
KEY = f"{CELERY_META_PREFIX}{TASK}"


@pytest.fixture
def backend(client: fakeredis.FakeRedis) -> Iterator[OneTripRedisBackend]:
    """The workers' Celery app's backend, its Redis client the fake one."""
    app = Celery("test-results", set_as_current=False)
    app.config_from_object(
        {**celery_config(Settings()), "result_backend": backend_url("redis://127.0.0.1:1/0")}
    )
    found = app.backend
    assert isinstance(found, OneTripRedisBackend)
    found.__dict__["client"] = client  # kombu's cached_property: the fake Redis instead
    yield found
    app.close()


def stored(client: fakeredis.FakeRedis) -> dict[str, object]:
    raw = client.get(KEY)
    assert raw is not None
    return dict(json.loads(raw))


def test_a_state_is_stored_and_announced_as_celery_stores_it(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis, subscribe: Subscribe
) -> None:
    pubsub = subscribe(KEY)
    backend.store_result(TASK, {"months": []}, states.SUCCESS)
    meta = stored(client)
    assert meta["status"] == "SUCCESS" and meta["result"] == {"months": []}
    assert meta["task_id"] == TASK
    assert 0 < client.ttl(KEY) <= Settings().retention_seconds  # result_expires
    message = pubsub.get_message(timeout=1.0)
    assert message is not None and json.loads(message["data"])["status"] == "SUCCESS"
    # And Celery's own reader understands it
    assert backend.get_task_meta(TASK)["result"] == {"months": []}


def test_a_success_is_never_overwritten_by_a_late_run(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis
) -> None:
    # Given a job that succeeded
    backend.store_result(TASK, None, states.STARTED)
    backend.store_result(TASK, 42, states.SUCCESS)
    # When a redelivered (or lost) run stores STARTED, then fails
    backend.store_result(TASK, None, states.STARTED)
    backend.mark_as_failure(TASK, RuntimeError("late"))
    # Then the success stands
    meta = stored(client)
    assert meta["status"] == "SUCCESS" and meta["result"] == 42


def test_a_failure_may_be_replaced_by_a_new_run(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis
) -> None:
    backend.mark_as_failure(TASK, RuntimeError("first run"))
    backend.store_result(TASK, None, states.STARTED)
    assert stored(client)["status"] == "STARTED"


def test_storing_a_state_is_one_round_trip(backend: OneTripRedisBackend, spy: CommandSpy) -> None:
    backend.store_result(TASK, None, states.STARTED)  # loads the script
    with spy.recording() as sent:
        backend.store_result(TASK, 1, states.SUCCESS)
    # Celery's RedisBackend: GET, then a SETEX + PUBLISH pipeline (two round trips)
    assert sent == ["EVALSHA"]
