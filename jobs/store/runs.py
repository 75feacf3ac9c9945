"""RunLedger: what a worker writes about the job it runs (claim, steps, outcome, run time)."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Any

import redis

from jobs.store.connection import reachable, script
from jobs.store.jobs import update
from jobs.store.keys import Keys
from jobs.store.record import Progress

RECENT_DURATIONS = 20  # run times kept per kind and type for estimates


class Claim(StrEnum):
    """What a worker may do with a delivery of a job."""

    RUN = "run"
    MISSING = "missing"  # the record is gone (expired unrun, or forgotten)
    CANCELLED = "cancelled"
    FINISHED = "finished"  # a redelivery of a job that already ended


class RunLedger:
    """The worker side of job records; one instance per process, thread-safe."""

    def __init__(self, client: redis.Redis, keys: Keys, retention_seconds: int) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self._claim = script(client, "claim")
        self._progress = script(client, "progress")
        self._update = script(client, "update")
        self._duration = script(client, "record_duration")

    def claim(self, job_id: str, worker: str, deadline: float) -> tuple[Claim, int]:
        """Start (or restart) a run: what to do, and how many runs were started so far.

        A delivery of a job that already finished (a redelivery after a crash between
        storing the result and the ack) or whose record is gone must not run again.
        """
        k = self.keys
        with reachable():
            outcome, attempts = self._claim(
                keys=[k.job(job_id), k.queued()],
                args=[
                    job_id,
                    k.events(job_id),
                    repr(time.time()),
                    worker,
                    repr(deadline),
                    str(self.retention),
                ],
            )
        return Claim(str(outcome)), int(attempts)

    def step(self, job_id: str, progress: Progress) -> bool:
        """Record a step; False when the client asked to cancel the job (stop now)."""
        with reachable():
            done = self._progress(
                keys=[self.keys.job(job_id)], args=[self.keys.events(job_id), progress.to_json()]
            )
        return int(done) != -1

    def finish(
        self,
        job_id: str,
        label: str,
        duration: float | None,
        error: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Record the end of a run and, for successes, its duration for estimates."""
        fields = {"finishedAt": repr(time.time())}
        if error is not None:
            fields["error"] = json.dumps(error)
        if progress is not None:
            fields["progress"] = progress.to_json()
        update(self._update, self.keys, job_id, fields)
        if duration is not None:
            self.record_duration(label, duration)

    def record_duration(self, label: str, seconds: float) -> None:
        """Keep the last few run times of a `kind:type` and their mean (read by estimates)."""
        k = self.keys
        with reachable():  # one round trip: push, trim and store the new mean
            self._duration(
                keys=[k.durations(label), k.stats()],
                args=[f"{seconds:.6f}", str(RECENT_DURATIONS), label],
            )
