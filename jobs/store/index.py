"""OwnerIndex: each client's jobs of one kind, newest first, for listing."""

from __future__ import annotations

from typing import Any

import redis

from jobs.store.connection import reachable
from jobs.store.keys import Keys


class OwnerIndex:
    """Pages through a client's job ids (sorted sets scored by creation time)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def page(
        self, owner: str, kind: str, before: tuple[float, str] | None, count: int
    ) -> list[tuple[str, float]]:
        """Up to `count` of a client's job ids, newest first, strictly after `before`."""
        key = self.keys.owner_jobs(owner, kind)
        with reachable():
            if before is None:
                rows: Any = self.redis.zrevrange(key, 0, count - 1, withscores=True)
                return [(str(m), float(sc)) for m, sc in rows]
            score, last_id = before
            # Ties (same creation time) sort by id descending; skip those already seen.
            rows = self.redis.zrevrangebyscore(
                key, score, "-inf", start=0, num=count + 64, withscores=True
            )
        page = [
            (str(m), float(sc)) for m, sc in rows if not (float(sc) == score and str(m) >= last_id)
        ]
        return page[:count]

    def prune(self, owner: str, kind: str, job_ids: list[str]) -> None:
        """Drop ids whose records have expired from a client's index."""
        if job_ids:
            with reachable():
                self.redis.zrem(self.keys.owner_jobs(owner, kind), *job_ids)
