"""The one backoff rule: exponential, capped, with jitter (so retries do not synchronise)."""

from __future__ import annotations

import random


def compute_backoff(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait before retry number `attempt` (0, 1, 2 ...): base x 2^attempt,
    at most `cap`, scaled by a random factor in [0.5, 1] ("equal jitter")."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2.0 ** min(attempt, 62))
