"""The optional minimum interval between two polls of one job by one client (429)."""

from __future__ import annotations

import math

from jobs.store import JobStore, reachable


def seconds_to_wait(store: JobStore, client: str, job_id: str, interval: float) -> int:
    """0 when this poll is allowed (and starts a new interval), else seconds to wait."""
    if interval <= 0:
        return 0
    name = store.keys.poll_gate(client, job_id)
    with reachable():
        if store.redis.set(name, "1", nx=True, px=max(1, int(interval * 1000))):
            return 0
        left_ms = store.redis.pttl(name)
    return max(1, math.ceil(max(0, int(left_ms)) / 1000))
