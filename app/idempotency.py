"""Idempotency-Key on POST: one key, one body, one job, even when requests race.

The first request claims the key with SET NX (atomic in Redis) before it creates
anything; a racing or repeated request finds the claim and answers with that job.
Keys expire with the job's record and result (JOB_RETENTION_SECONDS).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from jobs.store import JobStore, reachable

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    """Which job a key stands for, and a fingerprint of the body that created it."""

    job_id: str
    fingerprint: str

    def dumps(self) -> str:
        """Serialised for Redis."""
        return json.dumps({"job": self.job_id, "body": self.fingerprint})

    @classmethod
    def loads(cls, raw: str) -> Claim:
        """Parse what dumps() wrote."""
        data = json.loads(raw)
        return cls(str(data["job"]), str(data["body"]))


def fingerprint(body: dict[str, Any]) -> str:
    """A digest of a request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(store: JobStore, owner: str, key: str, wanted: Claim) -> Claim | None:
    """Claim `key` for `wanted`; None when claimed, else the claim that already holds it."""
    name = store.keys.idempotency(owner, key)
    with reachable():
        if store.redis.set(name, wanted.dumps(), nx=True, ex=store.retention):
            return None
        raw = store.redis.get(name)
    if raw is None:  # expired between the two commands: try once more
        return claim(store, owner, key, wanted)
    return Claim.loads(str(raw))


def release(store: JobStore, owner: str, key: str, held: Claim) -> None:
    """Drop our claim after a failed submit, so a retry with the same key can succeed."""
    with reachable():
        store.redis.eval(_DELETE_IF_EQUAL, 1, store.keys.idempotency(owner, key), held.dumps())


_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
