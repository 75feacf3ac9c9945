"""Idempotency-Key claims: one key, one body, one job, even when requests race.

The first request claims the key with SET NX (atomic in Redis) before it creates
anything; a racing or repeated request finds the claim and answers with that job.
Keys expire with the job's record and result (JOB_RETENTION_SECONDS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from jobs.errors import StoreUnavailable
from jobs.store.connection import reachable, script
from jobs.store.keys import Keys


@dataclass(frozen=True)
class KeyClaim:
    """Which job a key stands for, and a fingerprint of the request that created it."""

    job_id: str
    fingerprint: str

    def dumps(self) -> str:
        """Serialised for Redis."""
        return json.dumps({"job": self.job_id, "body": self.fingerprint})

    @classmethod
    def loads(cls, raw: str) -> KeyClaim:
        """Parse what dumps() wrote."""
        data = json.loads(raw)
        return cls(str(data["job"]), str(data["body"]))


class IdempotencyKeys:
    """Claims of Idempotency-Keys per client and kind."""

    def __init__(self, client: redis.Redis, keys: Keys, retention_seconds: int) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self._delete_if_equal = script(client, "delete_if_equal")

    def claim(self, owner: str, kind: str, key: str, wanted: KeyClaim) -> KeyClaim | None:
        """Claim `key` for `wanted`; None when claimed, else the claim that already holds it."""
        name = self.keys.idempotency(owner, kind, key)
        for _ in range(3):  # the holder may expire between the two commands: try again
            with reachable():
                if self.redis.set(name, wanted.dumps(), nx=True, ex=self.retention):
                    return None
                raw = self.redis.get(name)
            if raw is not None:
                return KeyClaim.loads(str(raw))
        raise StoreUnavailable(f"the Idempotency-Key claim {name} kept changing")

    def release(self, owner: str, kind: str, key: str, held: KeyClaim) -> None:
        """Drop our claim after a failed submit, so a retry with the same key can succeed."""
        with reachable():
            self._delete_if_equal(
                keys=[self.keys.idempotency(owner, kind, key)], args=[held.dumps()]
            )
