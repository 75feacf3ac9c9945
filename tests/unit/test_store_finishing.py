"""JobStore finishing a job from outside its worker, against fakeredis: cancel, forget,
and failing overdue jobs (only the run it read, once)."""

from __future__ import annotations

import fakeredis

from jobs.store import JobStore, Keys
from jobs.store.runs import RunLedger
from tests.unit.support import Submit, Subscribe

PROBLEM = {"type": "t", "title": "lost", "detail": "gone"}


def test_cancel_of_a_queued_job_finishes_it_and_forget_keeps_the_tombstone(
    store: JobStore, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a queued job
    submit()
    # When its client cancels it
    store.request_cancel("job-1", queued=True)
    # Then it is flagged, finished and no longer queued
    snap = store.read("job-1")
    assert snap is not None and snap.record.cancel_requested and snap.record.finished_at
    assert client.zscore(keys.queued(), "job-1") is None
    # When it is forgotten
    store.forget(snap.record)
    # Then its record and listing are gone, but the tombstone says it existed
    assert store.read("job-1") is None and store.existed("job-1") == "alice"
    assert client.zscore(keys.owner_jobs("alice", "report"), "job-1") is None


def test_cancel_of_a_running_job_only_flags_it(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a running job
    submit()
    ledger.claim("job-1", "w1@host", 5000.0)
    # When its client cancels it
    store.request_cancel("job-1", queued=False)
    # Then it is flagged, but stays unfinished until the worker stops it
    snap = store.read("job-1")
    assert snap is not None and snap.record.cancel_requested
    assert snap.record.finished_at is None


def test_cancel_and_forget_announce_the_change(
    store: JobStore, submit: Submit, keys: Keys, subscribe: Subscribe
) -> None:
    rec = submit()
    pubsub = subscribe(keys.events("job-1"))
    store.request_cancel("job-1", queued=True)
    store.forget(rec)
    messages = [pubsub.get_message(timeout=1.0), pubsub.get_message(timeout=1.0)]
    assert [m["data"] for m in messages if m] == ["changed", "forgotten"]


def test_cancel_of_an_expired_job_does_not_resurrect_it(
    store: JobStore, submit: Submit, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    submit()
    client.delete(keys.job("job-1"))
    store.request_cancel("job-1", queued=True)
    assert not client.exists(keys.job("job-1"))


def test_fail_overdue_fails_only_the_run_it_read(
    store: JobStore, submit: Submit, ledger: RunLedger
) -> None:
    # Given a job read while claimed with deadline 1000
    submit()
    ledger.claim("job-1", "w1@host", 1000.0)
    stale = store.read("job-1")
    assert stale is not None
    # When a redelivery claims it again before the reader acts
    ledger.claim("job-1", "w2@host", 5000.0)
    # Then the reader's overdue verdict is refused: the job is running again
    assert not store.fail_overdue(stale.record, PROBLEM)
    fresh = store.read("job-1")
    assert fresh is not None and fresh.record.finished_at is None
    # And a verdict on the current run sticks, once
    assert store.fail_overdue(fresh.record, PROBLEM)
    failed = store.read("job-1")
    assert failed is not None and failed.record.error == PROBLEM
    assert failed.record.finished_at is not None
    assert not store.fail_overdue(failed.record, PROBLEM)


def test_fail_overdue_fails_a_never_started_job_and_dequeues_it(
    store: JobStore, submit: Submit
) -> None:
    submit()
    snap = store.read("job-1")
    assert snap is not None and snap.queue_rank == 0
    assert store.fail_overdue(snap.record, {"type": "t"})
    after = store.read("job-1")
    assert after is not None and after.queue_rank is None and after.record.error == {"type": "t"}


def test_fail_overdue_of_a_forgotten_job_is_refused(store: JobStore, submit: Submit) -> None:
    rec = submit()
    store.forget(rec)
    assert not store.fail_overdue(rec, PROBLEM)
    assert store.read("job-1") is None
