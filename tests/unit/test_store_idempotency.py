"""IdempotencyKeys: one Idempotency-Key of one client on one kind stands for one job."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest

from jobs.errors import StoreUnavailable
from jobs.kinds import json_fingerprint
from jobs.store import Keys
from jobs.store.idempotency import IdempotencyKeys, KeyClaim
from tests.unit.support import RETENTION

BODY = {"reportType": "noop", "parameters": {"steps": 1}}


def test_a_key_is_claimed_once_and_answers_with_its_job(
    idempotency: IdempotencyKeys, client: fakeredis.FakeRedis, keys: Keys
) -> None:
    # Given a first request that claims key "k"
    first = KeyClaim("job-1", json_fingerprint(BODY))
    assert idempotency.claim("alice", "report", "k", first) is None
    # When the same request comes again (its body's keys in another order)
    same_body_reordered = {"parameters": {"steps": 1}, "reportType": "noop"}
    second = KeyClaim("job-2", json_fingerprint(same_body_reordered))
    held = idempotency.claim("alice", "report", "k", second)
    # Then it gets the first request's job, with the same fingerprint
    assert held == first and held.fingerprint == second.fingerprint
    # And the claim expires with the job's retention window
    assert 0 < client.ttl(keys.idempotency("alice", "report", "k")) <= RETENTION


def test_keys_are_per_client_and_per_kind(idempotency: IdempotencyKeys) -> None:
    claim = KeyClaim("job-1", json_fingerprint(BODY))
    other = KeyClaim("job-2", json_fingerprint(BODY))
    assert idempotency.claim("alice", "report", "k", claim) is None
    # Bob's "k", and alice's "k" on another kind's collection, are other keys
    assert idempotency.claim("bob", "report", "k", other) is None
    assert idempotency.claim("alice", "import", "k", other) is None
    assert idempotency.claim("alice", "report", "k", other) == claim


def test_only_the_holder_releases_a_claim(idempotency: IdempotencyKeys) -> None:
    # Given a key held by the first request
    first = KeyClaim("job-1", "f1")
    second = KeyClaim("job-2", "f2")
    idempotency.claim("alice", "report", "k", first)
    # When another request's failed submit releases "its" claim
    idempotency.release("alice", "report", "k", second)
    # Then the key still stands for the first job
    assert idempotency.claim("alice", "report", "k", second) == first
    # And once the holder releases it, a retry may claim it
    idempotency.release("alice", "report", "k", first)
    assert idempotency.claim("alice", "report", "k", second) is None


def test_a_claim_that_expires_between_set_and_get_is_claimed_again(
    idempotency: IdempotencyKeys, client: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key held by another request, which expires just as we read it
    idempotency.claim("alice", "report", "k", KeyClaim("job-1", "f1"))
    real_get = client.get

    def get_after_expiry(name: str) -> Any:
        client.delete(name)
        monkeypatch.setattr(client, "get", real_get)
        return real_get(name)

    monkeypatch.setattr(client, "get", get_after_expiry)
    # When we try to claim it
    mine = KeyClaim("job-2", "f2")
    # Then we get it at the second attempt
    assert idempotency.claim("alice", "report", "k", mine) is None
    assert idempotency.claim("alice", "report", "k", KeyClaim("job-3", "f3")) == mine


def test_a_claim_that_keeps_changing_is_a_store_failure(
    idempotency: IdempotencyKeys, client: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key that is always held at SET time and always gone at GET time
    monkeypatch.setattr(client, "set", lambda *a, **kw: None)
    monkeypatch.setattr(client, "get", lambda name: None)
    # Then claiming it gives up instead of looping forever
    with pytest.raises(StoreUnavailable, match="kept changing"):
        idempotency.claim("alice", "report", "k", KeyClaim("job-1", "f1"))


def test_a_claim_round_trips_through_its_serialised_form() -> None:
    claim = KeyClaim("3f0c", json_fingerprint(BODY))
    assert KeyClaim.loads(claim.dumps()) == claim


def test_fingerprints_ignore_key_order_and_whitespace_but_not_values() -> None:
    assert json_fingerprint({"a": 1, "b": [1, 2]}) == json_fingerprint({"b": [1, 2], "a": 1})
    assert json_fingerprint({"a": 1}) != json_fingerprint({"a": 2})
    assert json_fingerprint({"a": "é"}) != json_fingerprint({"a": "e"})
    assert json_fingerprint({"a": [1, 2]}) != json_fingerprint({"a": [2, 1]})
