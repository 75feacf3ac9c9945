"""The workers' result backend (jobs.store.celery_results) against fakeredis: Celery's
states stored as Celery's Redis backend stores them, in one round trip each, and a
SUCCESS never overwritten."""

from __future__ import annotations

import json

import fakeredis
import pytest
from celery import states
from celery.app.task import Context

from jobs.settings import Settings
from jobs.store import Keys
from jobs.store.celery_results import OneTripRedisBackend, started_meta
from jobs.store.keys import CELERY_META_PREFIX
from jobs.store.runs import Claim, RunLedger
from tests.unit.support import CommandSpy, Submit, Subscribe

TASK = "3b2f0c1e-1111-4222-8333-944455556666"
KEY = f"{CELERY_META_PREFIX}{TASK}"


@pytest.fixture
def backend(result_backend: OneTripRedisBackend) -> OneTripRedisBackend:
    """The workers' result backend on the fake Redis (tests/unit/conftest.py)."""
    return result_backend


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


def test_a_success_the_record_stored_costs_no_round_trip_and_only_once(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis, spy: CommandSpy
) -> None:
    backend.store_result(TASK, None, states.STARTED)  # loads the script
    # Given a run whose end stored its SUCCESS with the record (finish.lua)
    client.set(KEY, json.dumps({"status": "SUCCESS", "result": 1}))
    backend.stored_with_record(TASK)
    # When Celery's tracer stores the SUCCESS, nothing is sent
    with spy.recording() as sent:
        backend.store_result(TASK, 1, states.SUCCESS)
    assert sent == []
    # And the mark is spent: a later store of the task goes to Redis again
    with spy.recording() as sent:
        backend.store_result(TASK, 1, states.SUCCESS)
    assert sent == ["EVALSHA"]


def test_a_marked_task_that_ends_otherwise_is_stored_as_celery_would(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis
) -> None:
    # Given a marked task whose tracer stores another state (not a SUCCESS)
    backend.stored_with_record(TASK)
    backend.store_result(TASK, None, states.RETRY)
    # Then it is written, and the mark is spent
    assert stored(client)["status"] == "RETRY"
    backend.store_result(TASK, 2, states.SUCCESS)
    assert stored(client)["result"] == 2


def test_the_claims_started_meta_is_what_celery_stores_for_a_started_task(
    backend: OneTripRedisBackend, client: fakeredis.FakeRedis
) -> None:
    # Given the meta Celery's tracer stores when a task starts (task_track_started: with
    # the task's request, a top-level one with no children)
    request = Context(id=TASK, children=[])
    started = {"pid": 4242, "hostname": "w1@host"}
    backend.store_result(TASK, started, states.STARTED, request=request)
    celerys = client.get(KEY)
    client.delete(KEY)
    # Then the claim's own encoding of it is the same bytes
    assert started_meta(TASK, 4242, "w1@host") == celerys


def test_a_claim_stores_started_unless_a_success_is_stored(
    client: fakeredis.FakeRedis, keys: Keys, ledger: RunLedger, submit: Submit, subscribe: Subscribe
) -> None:
    # Given a job claimed with its STARTED meta
    submit(TASK)
    pubsub = subscribe(KEY)
    meta = started_meta(TASK, 1, "w1@host")
    claimed, _ = ledger.claim_and_refill(TASK, "w1@host", 4e9, started=(meta, 3600))
    # Then it is stored with the result expiry and announced, as Celery's would be
    assert claimed.outcome is Claim.RUN
    assert client.get(KEY) == meta and 0 < client.ttl(KEY) <= 3600
    message = pubsub.get_message(timeout=1.0)
    assert message is not None and message["data"] == meta
    # And the claim of a run whose SUCCESS is stored (cut off before its end was
    # recorded: the job runs again) does not overwrite it
    client.set(KEY, json.dumps({"status": "SUCCESS", "result": 1, "task_id": TASK}))
    again, _ = ledger.claim_and_refill(
        TASK, "w2@host", 4e9, started=(started_meta(TASK, 2, "w2"), 60)
    )
    assert again.outcome is Claim.RUN and stored(client)["status"] == "SUCCESS"


def test_job_tasks_leave_started_to_their_claim() -> None:
    from worker.tasks import TASKS

    assert TASKS and all(task.track_started is False for task in TASKS.values())
