"""JobStore against fakeredis: records, indexes, the one-round-trip read, safe updates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from redis.client import PubSub

from jobs.keys import Keys
from jobs.store import PROVISIONAL_SECONDS, RECENT_DURATIONS, JobRecord, JobStore

RETENTION, TOMBSTONE = 3600, 7200


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    """A fresh fake Redis per test (decoded strings, as jobs.store.connect() makes)."""
    fake = fakeredis.FakeRedis(decode_responses=True)
    yield fake
    fake.flushall()


@pytest.fixture
def keys() -> Keys:
    return Keys("test")


@pytest.fixture
def store(client: fakeredis.FakeRedis, keys: Keys) -> JobStore:
    return JobStore(client, keys, RETENTION, TOMBSTONE)


def subscribe(client: fakeredis.FakeRedis, channel: str) -> PubSub:
    """A subscription whose confirmation has been read, so the next message is news."""
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    confirmation = pubsub.get_message(timeout=1.0)
    assert confirmation is not None and confirmation["type"] == "subscribe"
    return pubsub


def record(job_id: str = "job-1", owner: str = "alice", created: float = 1000.0) -> JobRecord:
    return JobRecord(
        id=job_id,
        report_type="yearly-sales",
        parameters={"year": "2023"},
        owner=owner,
        created_at=created,
    )


def test_create_writes_a_provisional_record_that_commit_keeps(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # When a job is created
    store.create(record())
    # Then it is queued and owned, but invisible, and its record vanishes within
    # seconds unless the enqueue is confirmed (a 503'd submit leaves nothing behind)
    assert client.hget(keys.job("job-1"), "reportType") == "yearly-sales"
    assert 0 < client.ttl(keys.job("job-1")) <= PROVISIONAL_SECONDS
    assert store.read("job-1") is None and store.read_many(["job-1"]) == [None]
    assert store.existed("job-1") is None
    assert client.zscore(keys.queued(), "job-1") == 1000.0
    assert client.zscore(keys.owner_jobs("alice"), "job-1") == 1000.0
    # When the enqueue is confirmed
    store.commit(record())
    # Then the job is visible and expires with the retention window
    assert store.read("job-1") is not None
    assert PROVISIONAL_SECONDS < client.ttl(keys.job("job-1")) <= RETENTION
    # And a tombstone outlives it, so an expired job answers 410, not 404
    assert client.get(keys.tombstone("job-1")) == "alice"
    assert RETENTION < client.ttl(keys.tombstone("job-1")) <= TOMBSTONE


def test_a_claimed_job_is_kept_even_if_its_commit_was_lost(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    store.create(record())
    outcome, _ = store.claim("job-1", "w1", deadline=2000.0)
    assert outcome == "run"
    assert PROVISIONAL_SECONDS < client.ttl(keys.job("job-1")) <= RETENTION
    assert store.read("job-1") is not None


def test_read_returns_what_create_wrote(store: JobStore) -> None:
    store.create(record())
    store.commit(record())
    snap = store.read("job-1")
    assert snap is not None
    assert snap.record == record()
    assert snap.celery_meta is None and snap.celery_state is None
    assert snap.queue_rank == 0
    assert snap.mean_duration is None and snap.worker_slots == 0


def test_read_of_an_unknown_id_is_none(store: JobStore) -> None:
    assert store.read("never-created") is None
    assert store.existed("never-created") is None


def test_read_joins_celerys_result_queue_rank_durations_and_workers(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given three queued jobs, a Celery result for the second, history and two workers
    for i, created in enumerate((1.0, 2.0, 3.0)):
        store.create(record(f"job-{i}", created=created))
        store.commit(record(f"job-{i}", created=created))
    meta = {"status": "PROGRESS", "result": {"current": 3, "total": 15}, "task_id": "job-1"}
    client.set(keys.celery_meta("job-1"), json.dumps(meta))
    store.record_duration("yearly-sales", 4.0)
    store.register_worker("w1@host", 4)
    store.register_worker("w2@host", 2)
    # When the third job is read
    snap = store.read("job-2")
    # Then the snapshot has everything the status document needs
    assert snap is not None
    assert snap.queue_rank == 2
    assert snap.mean_duration == 4.0
    assert snap.worker_slots == 6
    # And the second job sees its Celery meta
    second = store.read("job-1")
    assert second is not None and second.celery_state == "PROGRESS"
    assert second.celery_meta == meta


def test_read_is_one_round_trip(
    store: JobStore, client: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job (and a connection already open, so no handshake is counted)
    store.create(record())
    store.commit(record())
    sent: list[Any] = []
    connection_class = client.connection_pool.connection_class
    original = connection_class.send_packed_command

    def spy(self: Any, command: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(command)
        original(self, command, *args, **kwargs)

    monkeypatch.setattr(connection_class, "send_packed_command", spy)
    # When the job's whole state is read
    snap = store.read("job-1")
    # Then it took exactly one write to the socket (one pipelined round trip)
    assert snap is not None
    assert len(sent) == 1


def test_discard_removes_every_trace(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a job that could not be enqueued
    job = record()
    store.create(job)
    store.commit(job)
    client.set(keys.celery_meta(job.id), "{}")
    # When it is discarded
    store.discard(job)
    # Then nothing of it is left: not readable, not queued, not listed, no tombstone
    assert store.read(job.id) is None
    assert store.existed(job.id) is None
    assert client.zscore(keys.queued(), job.id) is None
    assert client.zscore(keys.owner_jobs("alice"), job.id) is None
    assert not client.exists(keys.celery_meta(job.id))


def test_claim_dequeues_and_records_the_worker_attempts_and_deadline(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    store.create(record())
    store.commit(record())
    assert store.claim("job-1", "w1@host", 1000.0) == ("run", 1)
    snap = store.read("job-1")
    assert snap is not None
    assert snap.queue_rank is None
    assert snap.record.worker == "w1@host" and snap.record.deadline == 1000.0
    assert snap.record.started_at is not None and snap.record.attempts == 1
    # And a redelivery counts as a second attempt, with a new deadline
    assert store.claim("job-1", "w2@host", 2000.0) == ("run", 2)
    again = store.read("job-1")
    assert again is not None and again.record.attempts == 2 and again.record.worker == "w2@host"
    assert again.record.deadline == 2000.0


def test_claim_refuses_a_finished_or_missing_job(store: JobStore) -> None:
    # Given a job that finished (a redelivery after a crash between result and ack)
    store.create(record("done"))
    store.commit(record("done"))
    store.claim("done", "w1@host", 1000.0)
    store.mark_finished("done", "yearly-sales", 1.0)
    # Then it is not run again, nor is a job without a record
    assert store.claim("done", "w2@host", 2000.0) == ("finished", 1)
    assert store.claim("nobody", "w2@host", 2000.0) == ("missing", 0)
    snap = store.read("done")
    assert snap is not None and snap.record.attempts == 1 and snap.record.worker == "w1@host"


def test_fail_overdue_fails_only_the_run_it_read(store: JobStore) -> None:
    problem = {"type": "t", "title": "lost", "detail": "gone"}
    # Given a job read while claimed with deadline 1000
    store.create(record())
    store.commit(record())
    store.claim("job-1", "w1@host", 1000.0)
    stale = store.read("job-1")
    assert stale is not None
    # When a redelivery claims it again before the reader acts
    store.claim("job-1", "w2@host", 5000.0)
    # Then the reader's overdue verdict is refused: the job is running again
    assert not store.fail_overdue(stale.record, problem)
    fresh = store.read("job-1")
    assert fresh is not None and fresh.record.finished_at is None
    # And a verdict on the current run sticks, once
    assert store.fail_overdue(fresh.record, problem)
    failed = store.read("job-1")
    assert failed is not None and failed.record.error == problem
    assert failed.record.finished_at is not None
    assert not store.fail_overdue(failed.record, problem)


def test_fail_overdue_fails_a_never_started_job_and_dequeues_it(store: JobStore) -> None:
    store.create(record())
    store.commit(record())
    snap = store.read("job-1")
    assert snap is not None and snap.queue_rank == 0
    assert store.fail_overdue(snap.record, {"type": "t"})
    after = store.read("job-1")
    assert after is not None and after.queue_rank is None and after.record.error == {"type": "t"}


def test_mark_finished_records_the_end_the_error_and_the_duration(store: JobStore) -> None:
    store.create(record("ok"))
    store.commit(record("ok"))
    store.create(record("bad"))
    store.commit(record("bad"))
    problem = {"type": "t", "title": "The sales data is not available", "detail": "no table"}
    store.mark_finished("ok", "yearly-sales", 3.0)
    store.mark_finished("bad", "yearly-sales", None, problem)
    ok, bad = store.read("ok"), store.read("bad")
    assert ok is not None and bad is not None
    assert ok.record.finished_at is not None and ok.record.error is None
    assert bad.record.finished_at is not None and bad.record.error == problem
    # Only the success counted towards estimates
    assert ok.mean_duration == 3.0


def test_record_duration_keeps_the_mean_of_the_recent_runs(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given more runs than are kept: one slow, old run, then many 2-second ones
    store.record_duration("monthly-sales", 100.0)
    for _ in range(RECENT_DURATIONS):
        store.record_duration("monthly-sales", 2.0)
    # Then the old run has dropped out of the mean
    assert client.llen(keys.durations("monthly-sales")) == RECENT_DURATIONS
    assert float(client.hget(keys.stats(), "monthly-sales") or 0) == 2.0


def test_updates_announce_the_change_on_the_jobs_channel(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    store.create(record())
    store.commit(record())
    pubsub = subscribe(client, keys.events("job-1"))
    store.claim("job-1", "w1@host", 1000.0)
    message = pubsub.get_message(timeout=1.0)
    pubsub.close()
    assert message is not None and message["data"] == "changed"


@pytest.mark.parametrize("late_update", ["started", "finished"])
def test_a_late_update_never_resurrects_an_expired_record(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys, late_update: str
) -> None:
    # Given a job whose record has expired (retention passed)
    store.create(record())
    store.commit(record())
    client.delete(keys.job("job-1"))
    pubsub = subscribe(client, keys.events("job-1"))
    # When a worker reports on it late (a redelivery, a slow finish)
    if late_update == "started":
        assert store.claim("job-1", "w1@host", 1000.0) == ("missing", 0)
    else:
        store.mark_finished("job-1", "yearly-sales", None, {"type": "t"})
    # Then no half-record without type or owner appears, and nobody is told of a change
    assert not client.exists(keys.job("job-1"))
    assert store.read("job-1") is None
    assert pubsub.get_message(timeout=0.1) is None
    pubsub.close()
    # And the tombstone still says the job existed
    assert store.existed("job-1") == "alice"


def test_record_round_trips_through_the_hash() -> None:
    full = JobRecord(
        id="j",
        report_type="top-products",
        parameters={"from": "2023-01-01", "to": "2023-01-31", "limit": 5},
        owner="bob",
        created_at=1.5,
        started_at=2.25,
        finished_at=3.125,
        error={"type": "t", "title": "x", "detail": "y"},
        cancel_requested=True,
        worker="w@h",
        attempts=3,
        deadline=4.5,
    )
    assert JobRecord.from_hash(full.to_hash()) == full
    assert all(isinstance(v, str) for v in full.to_hash().values())


def test_a_claim_of_a_cancelled_job_says_so_without_starting_it(
    store: JobStore, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a queued job the client cancelled (a queued cancel also finishes it)
    store.create(record())
    store.commit(record())
    store.request_cancel("job-1", queued=True)
    # When a worker gets its message anyway (the revoke was lost)
    outcome, attempts = store.claim("job-1", "w1", deadline=2000.0)
    # Then the claim reports the cancellation and the job never starts
    assert (outcome, attempts) == ("cancelled", 0)
    assert client.hget(keys.job("job-1"), "startedAt") is None
