"""Fixtures of the unit tests: a fake Redis, key names, and every store of the job core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from celery import Celery
from redis.client import PubSub

from app.services.backend import Backend
from jobs.celery_config import celery_config
from jobs.registry import Kinds, load_kinds
from jobs.settings import Settings
from jobs.store import JobRecord, JobStore, Keys
from jobs.store.celery_results import OneTripRedisBackend, backend_url
from jobs.store.idempotency import IdempotencyKeys
from jobs.store.index import OwnerIndex
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from jobs.store.throttle import PollGate
from jobs.store.waiting import ChangeFeed
from jobs.store.workers import WorkerRegistry
from tests.unit.support import (
    KEEP,
    KEY_PREFIX,
    RETENTION,
    TOMBSTONE,
    CommandSpy,
    Submit,
    Subscribe,
    record,
)


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    """A fresh fake Redis per test (decoded strings, as jobs.store.connect() makes)."""
    fake = fakeredis.FakeRedis(decode_responses=True)
    yield fake
    fake.flushall()


@pytest.fixture
def keys() -> Keys:
    return Keys(KEY_PREFIX)


@pytest.fixture
def settings() -> Settings:
    """The settings of `backend` (the same prefix and retention as the stores here)."""
    return Settings(key_prefix=KEY_PREFIX, retention_seconds=RETENTION, tombstone_seconds=TOMBSTONE)


@pytest.fixture(scope="session")
def kinds() -> Kinds:
    """The two kinds the project ships: reports and imports."""
    return load_kinds(Settings(job_kinds="kinds.reports,kinds.imports"))


@pytest.fixture
def store(client: fakeredis.FakeRedis, keys: Keys) -> JobStore:
    return JobStore(client, keys, RETENTION, TOMBSTONE)


@pytest.fixture
def ledger(client: fakeredis.FakeRedis, keys: Keys) -> RunLedger:
    return RunLedger(client, keys, RETENTION)


@pytest.fixture
def shares(client: fakeredis.FakeRedis, keys: Keys) -> ResultShare:
    """Results kept for reuse (KEEP seconds), leaders and followers."""
    return ResultShare(client, keys, RETENTION, KEEP, TOMBSTONE, leader_seconds=900)


@pytest.fixture
def worker(client: fakeredis.FakeRedis, keys: Keys, shares: ResultShare) -> RunLedger:
    """A worker's run ledger that hands its results to `shares`."""
    return RunLedger(client, keys, RETENTION, shares)


@pytest.fixture
def index(client: fakeredis.FakeRedis, keys: Keys) -> OwnerIndex:
    return OwnerIndex(client, keys)


@pytest.fixture
def idempotency(client: fakeredis.FakeRedis, keys: Keys) -> IdempotencyKeys:
    return IdempotencyKeys(client, keys, RETENTION)


@pytest.fixture
def poll_gate(client: fakeredis.FakeRedis, keys: Keys) -> PollGate:
    return PollGate(client, keys)


@pytest.fixture
def changes(client: fakeredis.FakeRedis, keys: Keys) -> ChangeFeed:
    return ChangeFeed(client, keys)


@pytest.fixture
def registry(client: fakeredis.FakeRedis, keys: Keys) -> WorkerRegistry:
    return WorkerRegistry(client, keys)


@pytest.fixture
def backend(settings: Settings, kinds: Kinds, client: fakeredis.FakeRedis) -> Backend:
    """The web's backend on the fake Redis (no broker: nothing here enqueues)."""
    return Backend(settings, kinds, client, celery=None)  # type: ignore[arg-type]


@pytest.fixture
def submit(store: JobStore) -> Submit:
    """Submit a job as the web does (create, then commit once enqueued); its record."""

    def submit_job(job_id: str = "job-1", **fields: Any) -> JobRecord:
        rec = record(job_id, **fields)
        store.create(rec)
        store.commit(rec)
        return rec

    return submit_job


@pytest.fixture
def subscribe(client: fakeredis.FakeRedis) -> Iterator[Subscribe]:
    """Subscribe to a channel, its confirmation read, so the next message is news."""
    opened: list[PubSub] = []

    def subscribe_to(channel: str) -> PubSub:
        pubsub = client.pubsub()
        opened.append(pubsub)
        pubsub.subscribe(channel)
        confirmation = pubsub.get_message(timeout=1.0)
        assert confirmation is not None and confirmation["type"] == "subscribe"
        return pubsub

    yield subscribe_to
    for pubsub in opened:
        pubsub.close()


@pytest.fixture
def spy(client: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch) -> CommandSpy:
    """Counts the round trips to the fake Redis inside `with spy.recording() as sent:`."""
    return CommandSpy(client, monkeypatch)


@pytest.fixture
def result_backend(client: fakeredis.FakeRedis) -> Iterator[OneTripRedisBackend]:
    """The workers' Celery app's result backend, its Redis client the fake one."""
    app = Celery("test-results", set_as_current=False)
    app.config_from_object(
        {**celery_config(Settings()), "result_backend": backend_url("redis://127.0.0.1:1/0")}
    )
    found = app.backend
    assert isinstance(found, OneTripRedisBackend)
    found.__dict__["client"] = client  # kombu's cached_property: the fake Redis instead
    yield found
    app.close()
