"""Our protocol's Redis code against fakeredis: list pages, cancel, forget, idempotency
claims, the poll gate and the pub/sub wait."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import fakeredis
import pytest

from app import cursor, idempotency, throttle
from app.backend import Backend
from app.listing import list_jobs
from app.waiting import wait_for
from jobs.keys import Keys
from jobs.settings import Settings
from jobs.store import JobRecord, JobStore

RETENTION = 3600


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    fake = fakeredis.FakeRedis(decode_responses=True)
    yield fake
    fake.flushall()


@pytest.fixture
def store(client: fakeredis.FakeRedis) -> JobStore:
    return JobStore(client, Keys("t"), RETENTION, RETENTION * 2)


def make(store: JobStore, created: float, owner: str = "alice", kind: str = "noop") -> str:
    job_id = str(uuid.uuid4())
    store.create(JobRecord(job_id, kind, {}, owner, created))
    store.commit(JobRecord(job_id, kind, {}, owner, created))
    return job_id


def test_pages_run_newest_first_without_gaps_or_repeats(store: JobStore) -> None:
    # Given seven jobs, two of them created at the same instant
    ids = [make(store, 1000.0 + i) for i in range(6)] + [make(store, 1005.0)]
    make(store, 2000.0, owner="bob")
    # When alice pages through with limit 3
    seen, after = [], None
    for _ in range(5):
        page = list_jobs(store, "alice", 3, after=after)
        seen += [d["id"] for d in page.items]
        after = page.next
        if after is None:
            break
    # Then she sees each of her jobs once, newest first, and nobody else's
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    created = [store.read(i).record.created_at for i in seen]  # type: ignore[union-attr]
    assert created == sorted(created, reverse=True)


def test_filters_and_pruning_of_expired_ids(store: JobStore, client: fakeredis.FakeRedis) -> None:
    keep = make(store, 1.0, kind="yearly-sales")
    gone = make(store, 2.0, kind="yearly-sales")
    make(store, 3.0)
    client.delete(store.keys.job(gone))  # its record expired
    page = list_jobs(store, "alice", 10, report_type="yearly-sales")
    assert [d["id"] for d in page.items] == [keep] and page.next is None
    assert client.zscore(store.keys.owner_jobs("alice"), gone) is None
    assert list_jobs(store, "alice", 10, status="Complete").items == []


def test_a_cursor_resumes_after_its_position(store: JobStore) -> None:
    first, second = make(store, 1.0), make(store, 2.0)
    page = list_jobs(store, "alice", 1)
    assert [d["id"] for d in page.items] == [second]
    assert page.next is not None and cursor.decode(page.next) == (2.0, second)
    assert [d["id"] for d in list_jobs(store, "alice", 1, after=page.next).items] == [first]


def test_cancel_of_a_queued_job_finishes_it_and_forget_keeps_the_tombstone(
    store: JobStore, client: fakeredis.FakeRedis
) -> None:
    job = make(store, time.time())
    store.request_cancel(job, queued=True)
    snap = store.read(job)
    assert snap is not None and snap.record.cancel_requested and snap.record.finished_at
    assert store.cancel_requested(job)
    assert client.zscore(store.keys.queued(), job) is None
    store.forget(snap.record)
    assert store.read(job) is None and store.existed(job) == "alice"
    assert client.zscore(store.keys.owner_jobs("alice"), job) is None


def test_an_idempotency_key_is_claimed_once(store: JobStore, client: fakeredis.FakeRedis) -> None:
    body = {"reportType": "noop", "parameters": {"steps": 1}}
    first = idempotency.Claim("job-1", idempotency.fingerprint(body))
    same_body_reordered = {"parameters": {"steps": 1}, "reportType": "noop"}
    second = idempotency.Claim("job-2", idempotency.fingerprint(same_body_reordered))
    assert idempotency.claim(store, "alice", "k", first) is None
    assert idempotency.claim(store, "alice", "k", second) == first
    assert idempotency.claim(store, "bob", "k", second) is None  # keys are per client
    assert 0 < client.ttl(store.keys.idempotency("alice", "k")) <= RETENTION
    idempotency.release(store, "alice", "k", second)  # not the holder: no effect
    assert idempotency.claim(store, "alice", "k", second) == first
    idempotency.release(store, "alice", "k", first)
    assert idempotency.claim(store, "alice", "k", second) is None


def test_the_poll_gate_allows_one_poll_per_interval(store: JobStore) -> None:
    assert throttle.seconds_to_wait(store, "c", "j", 0) == 0
    assert throttle.seconds_to_wait(store, "c", "j", 5) == 0
    assert 1 <= throttle.seconds_to_wait(store, "c", "j", 5) <= 5
    assert throttle.seconds_to_wait(store, "other", "j", 5) == 0


def test_a_wait_returns_on_the_published_change(store: JobStore) -> None:
    job = make(store, time.time())
    timer = threading.Timer(0.2, store.request_cancel, args=(job, True))
    timer.start()
    started = time.monotonic()
    snap = wait_for(store, job, lambda s: s is not None and s.record.cancel_requested, 30)
    timer.join()
    assert snap is not None and snap.record.cancel_requested
    assert time.monotonic() - started < 20  # woken by the message, not by the timeout


def test_a_wait_gives_up_after_its_timeout(store: JobStore) -> None:
    job = make(store, time.time())
    snap = wait_for(store, job, lambda s: False, 0.2)
    assert snap is not None and snap.record.id == job


def test_a_job_that_never_started_in_time_is_listed_as_failed(store: JobStore) -> None:
    # Given a job queued long ago whose message was lost (created 2 hours back)
    settings = Settings(job_queue_timeout=60)
    backend = Backend(settings, store, celery=None)  # type: ignore[arg-type]
    job_id = make(store, time.time() - 7200)
    # When the owner lists their jobs through the backend's settle step
    page = list_jobs(store, "alice", 10, settle=backend.settle)
    # Then the job is listed as Failed, as its status would say, not In Progress forever
    [doc] = page.items
    assert doc["id"] == job_id
    assert doc["status"] == "Failed" and doc["error"]["type"].endswith("not-started")
