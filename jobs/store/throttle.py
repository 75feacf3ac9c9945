"""PollGate: the optional minimum interval between two polls of one job by one client."""

from __future__ import annotations

import math

import redis

from jobs.store.connection import reachable
from jobs.store.keys import Keys


class PollGate:
    """One short-lived key per (client, job): present while the client must wait."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def seconds_to_wait(self, client: str, job_id: str, interval: float) -> int:
        """0 when this poll is allowed (and starts a new interval), else seconds to wait."""
        if interval <= 0:
            return 0
        name = self.keys.poll_gate(client, job_id)
        with reachable():
            if self.redis.set(name, "1", nx=True, px=max(1, int(interval * 1000))):
                return 0
            left_ms = self.redis.pttl(name)
        return max(1, math.ceil(max(0, int(left_ms)) / 1000))
