"""WorkerRegistry: which workers run and how many jobs each runs at once (for estimates)."""

from __future__ import annotations

import redis

from jobs.store.connection import reachable
from jobs.store.keys import Keys


class WorkerRegistry:
    """Pool sizes of the running workers, kept in one Redis hash."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def register(self, hostname: str, slots: int) -> None:
        """Announce a worker's pool size, so queue estimates know the parallelism."""
        with reachable():
            self.redis.hset(self.keys.workers(), hostname, str(slots))

    def unregister(self, hostname: str) -> None:
        """Forget a worker that shut down."""
        with reachable():
            self.redis.hdel(self.keys.workers(), hostname)
