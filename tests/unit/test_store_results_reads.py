"""A follower read through the web's backend: its outcome when its leader was lost, never
enqueued, is still being enqueued, or succeeded without passing its result on."""

from __future__ import annotations

import json
import time

import fakeredis

from app.services.backend import Backend
from jobs.problems import NOT_STARTED, WORKER_LOST
from jobs.store import JobStore
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from tests.unit.support import DIGEST, RESULT, created, lead


def test_a_follower_of_a_leader_lost_with_its_worker_fails_when_read(
    store: JobStore, shares: ResultShare, worker: RunLedger, backend: Backend
) -> None:
    # Given a follower of a leader whose worker vanished (its run deadline passed)
    lead(store, shares)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    worker.claim("lead", "w1", deadline=time.time() - 1)
    # When the follower's client polls it (nobody reads the leader)
    snap = backend.read("f0")
    # Then the leader is failed by the deadline check, and the follower with it
    assert snap is not None and snap.record.error is not None
    assert snap.record.error["title"] == WORKER_LOST["title"]
    leader = store.read("lead")
    assert leader is not None and leader.record.error is not None


def test_a_follower_of_a_leader_that_was_never_enqueued_fails_when_read(
    store: JobStore, shares: ResultShare, backend: Backend
) -> None:
    # Given a follower attached to a leader whose enqueue then failed (it was discarded)
    rec = created(store, "lead")
    shares.attach(rec, DIGEST, fresh=False)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    store.discard(rec)
    # When the follower is read
    snap = backend.read("f0")
    # Then it has an outcome of its own: failed, saying to submit again
    assert snap is not None and snap.record.error is not None
    assert snap.record.error["title"] == NOT_STARTED["title"]


def test_a_follower_of_a_leader_still_being_enqueued_waits_for_it(
    store: JobStore, shares: ResultShare, client: fakeredis.FakeRedis, backend: Backend
) -> None:
    # Given a follower that attached while the leader's own submit was still enqueueing
    # it (the leader's record provisional: bench.reuse's ten concurrent submits on 10M
    # rows saw nine followers failed as "lost before it ran" in that window)
    rec = created(store, "lead")
    shares.attach(rec, DIGEST, fresh=False)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    # When the follower is read before the leader's enqueue is confirmed
    snap = backend.read("f0")
    # Then it is still waiting for the leader, not failed
    assert snap is not None and snap.record.error is None and snap.record.finished_at is None
    # And once the leader is enqueued and has succeeded, the follower gets its result
    store.commit(rec)
    client.set("celery-task-meta-lead", json.dumps({"status": "SUCCESS", "result": RESULT}))
    client.hset("test:job:lead", "finishedAt", repr(time.time()))
    done = backend.read("f0")
    assert done is not None and done.result == RESULT


def test_a_follower_gets_the_result_even_if_the_worker_could_not_pass_it_on(
    store: JobStore, shares: ResultShare, client: fakeredis.FakeRedis, backend: Backend
) -> None:
    # Given a follower, and a leader that succeeded without passing its result on
    lead(store, shares)
    shares.attach(created(store, "f0", owner="bob"), DIGEST, fresh=False)
    client.set("celery-task-meta-lead", json.dumps({"status": "SUCCESS", "result": RESULT}))
    client.hset("test:job:lead", "finishedAt", repr(time.time()))
    # When the follower is read
    snap = backend.read("f0")
    # Then it is Complete with the leader's result
    assert snap is not None and snap.result == RESULT
