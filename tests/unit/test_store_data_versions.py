"""ResultShare's cached data version: stale after a data-changing job or its interval."""

from __future__ import annotations

import time

import fakeredis

from jobs.store import Keys
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from tests.unit.support import DONE


def test_a_completed_import_makes_the_cached_version_stale(
    shares: ResultShare, worker: RunLedger
) -> None:
    # Given a data version cached by the web
    generation, token, _ = shares.cached_version(60)
    assert token is None
    shares.remember_version(generation, "42.100.100", 60)
    assert shares.cached_version(60) == (generation, "42.100.100", False)
    # When a worker completes a job that changes the data
    worker.succeeded("imp", {"rowsImported": 1}, DONE, keep=False, changes_data=True)
    # Then the cached version no longer counts
    assert shares.cached_version(60)[1] is None


def test_a_cached_version_is_stale_after_its_interval_and_gone_after_twice(
    shares: ResultShare, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a version cached for 60 s
    shares.remember_version("0", "7.1.1", 60)
    # Then it expires by itself after twice that
    assert 60_000 < client.pttl(keys.data_version()) <= 120_000
    # And once older than 60 s it is still given, marked stale
    value = client.get(keys.data_version())
    assert value is not None
    generation, _, token = value.split("|", 2)
    client.set(keys.data_version(), f"{generation}|{time.time() - 61!r}|{token}")
    assert shares.cached_version(60) == ("0", "7.1.1", True)
    # And only one process at a time may read it again
    assert shares.claim_version_read(60) is True
    assert shares.claim_version_read(60) is False
