"""worker.runtime against fakeredis: what a run sends Redis and what its end passes on.

A trivial job costs two round trips of ours (claim, end) whatever its kind, none for
Celery's store of its SUCCESS after the body (the end stored it); a job that leads a
shared computation (result reuse) passes its outcome to the jobs following it. The kind
and the stand-in task are tests/unit/test_runtime.py's.
"""

from __future__ import annotations

import json

import pytest
from celery import states

from jobs.failures import JobError
from jobs.kinds import JobKind
from jobs.store import JobStore
from jobs.store.celery_results import OneTripRedisBackend
from jobs.store.keys import Keys
from jobs.store.results import ResultShare
from tests.unit.support import DIGEST, CommandSpy, Submit, created, lead
from tests.unit.test_runtime import KIND, LABEL, CountKind, StandInTask, run, worker_clients
from worker import runtime

__all__ = ["worker_clients"]  # the autouse fixture: the runtime writes to the fake Redis


class SharedCountKind(CountKind):
    """The count kind, deterministic: its jobs may share a computation (result reuse)."""

    deterministic = True


SHARED = SharedCountKind()


@pytest.mark.parametrize("kind", [KIND, SHARED], ids=["unshared kind", "deterministic kind"])
def test_a_trivial_job_costs_two_round_trips_of_ours(
    kind: JobKind, store: JobStore, submit: Submit, spy: CommandSpy
) -> None:
    # Given a job without a webhook (and the claim script already loaded by another run);
    # of a deterministic kind, one that shares nothing (no reuse digest: the diagnostic
    # noop, RESULT_REUSE_SECONDS=0, a data version that could not be read)
    submit("warm", kind="count", type="to", parameters={"steps": 0})
    run("warm", {"steps": 0}, kind=kind)
    submit("job-1", kind="count", type="to", parameters={"steps": 0})
    # When a worker runs it
    with spy.recording() as sent:
        run("job-1", {"steps": 0}, kind=kind)
    # Then it claimed (the webhook read with it, Celery's STARTED stored with it, and
    # whether it leads a shared computation) and wrote outcome, Celery's SUCCESS and run
    # time together: no read for `started`, none of followers, no result passed on
    assert sent == ["EVALSHA", "EVAL"]
    snap = store.read("job-1")
    assert snap is not None and snap.record.finished_at is not None
    assert store.redis.hget(store.keys.stats(), LABEL) is not None
    assert "job-1" in runtime.WITHOUT_WEBHOOK  # its postrun reads nothing either
    assert "job-1" not in runtime.FOLLOWERS


def lead_and_follow(store: JobStore, shares: ResultShare) -> None:
    """A committed job `lead` computing DIGEST, and `f1` following it."""
    lead(store, shares, "lead")
    follower = created(store, "f1")
    assert shares.attach(follower, DIGEST, fresh=False).outcome == "follow"
    store.commit(follower)


def test_a_leaders_end_is_passed_to_the_jobs_following_it(
    store: JobStore, shares: ResultShare
) -> None:
    # Given a job leading a computation, and one that follows it
    lead_and_follow(store, shares)
    # When a worker runs the leader
    result = run("lead", {"steps": 2}, kind=SHARED)
    # Then the follower completed with its result, and is remembered for its webhook
    snap = store.read("f1")
    assert snap is not None and snap.record.finished_at is not None and snap.result == result
    assert runtime.FOLLOWERS.pop("lead") == ["f1"]


def test_a_failed_leaders_followers_fail_with_its_problem(
    store: JobStore, shares: ResultShare
) -> None:
    # Given a job leading a computation that will fail, and one that follows it
    lead_and_follow(store, shares)
    # When a worker runs the leader
    with pytest.raises(JobError):
        run("lead", {"steps": 2, "failAt": 2}, kind=SHARED)
    # Then the follower failed with the same problem, and is remembered for its webhook
    snap = store.read("f1")
    assert snap is not None and snap.record.error is not None
    assert "Could not count past 1" in snap.record.error["detail"]
    assert runtime.FOLLOWERS.pop("lead") == ["f1"]


def test_celerys_store_of_the_success_after_the_body_sends_nothing(
    submit: Submit, spy: CommandSpy, result_backend: OneTripRedisBackend, keys: Keys
) -> None:
    # Given a task whose result backend is the workers' own
    task = StandInTask()
    task.backend = result_backend
    submit(kind="count", type="to", parameters={"steps": 1})
    # When it runs, and Celery's tracer then stores its SUCCESS (as it does after the body)
    result = run("job-1", {"steps": 1}, task)
    with spy.recording() as sent:
        result_backend.store_result("job-1", result, states.SUCCESS)
    # Then that store sent nothing: the run's end stored the result
    assert sent == []
    stored = result_backend.client.get(keys.celery_meta("job-1"))
    assert stored is not None and json.loads(stored)["result"] == {"counted": 1}
