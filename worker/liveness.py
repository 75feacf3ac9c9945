"""Worker liveness for container health checks: a heartbeat file the worker keeps fresh.

The worker touches WORKER_HEARTBEAT_FILE each time it sends a Celery heartbeat event
(every 2 s); `python -m worker.liveness` exits 0 while the file is younger than
WORKER_HEARTBEAT_MAX_AGE seconds, 1 otherwise. No broker round trip is needed, so a
broker outage does not make every worker container "unhealthy" at once... unless it
lasts: a worker that cannot send heartbeats for that long is restarted.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from jobs.settings import Settings


def install(settings: Settings) -> None:
    """Touch the heartbeat file on every heartbeat the worker sends, and at start."""
    from celery import signals

    path = Path(settings.worker_heartbeat_file)

    def _touch(**_: Any) -> None:
        # A read-only filesystem must not stop the worker; the health check will say so.
        with contextlib.suppress(OSError):
            path.touch()

    signals.heartbeat_sent.connect(_touch, weak=False)
    signals.worker_ready.connect(_touch, weak=False)


def is_alive(path: Path, max_age: float, now: float | None = None) -> bool:
    """True when the heartbeat file exists and is fresh."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= max_age


def main() -> int:
    """Exit status for a health check: 0 alive, 1 stale or missing."""
    settings = Settings.from_env()
    path, max_age = Path(settings.worker_heartbeat_file), settings.worker_heartbeat_max_age
    alive = is_alive(path, max_age)
    print("alive" if alive else f"no heartbeat in {path} for {max_age:g}s")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
