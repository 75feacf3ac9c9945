"""RunLedger: what a worker writes about the job it runs (claim, steps, outcome, run time)."""

from __future__ import annotations

import json
import logging
import time
from enum import StrEnum
from typing import Any, NamedTuple

import redis

from jobs.errors import StoreUnavailable
from jobs.store.connection import lua, reachable, script
from jobs.store.fairness import TakeRequest
from jobs.store.keys import Keys
from jobs.store.record import Progress
from jobs.store.results import ResultShare, success_meta

log = logging.getLogger(__name__)

RECENT_DURATIONS = 20  # run times kept per kind and type for estimates


class Claim(StrEnum):
    """What a worker may do with a delivery of a job."""

    RUN = "run"
    MISSING = "missing"  # the record is gone (expired unrun, or forgotten)
    CANCELLED = "cancelled"
    FINISHED = "finished"  # a redelivery of a job that already ended


class Superseded(Exception):
    """Raised when a run's claim was superseded: the job was claimed again since (its
    worker was cut off, and the job was handed to another worker). The run must end
    without writing anything: the later run has the last word."""


NO_RESULT = object()  # finish() of a run that did not succeed


class Claimed(NamedTuple):
    """The answer to a claim: what to do, the runs started so far, and for a run the
    job's webhook (None when it asked for none: nothing to read for its events) and
    whether it leads a shared computation (result reuse: jobs may follow it, and its end
    is passed on to them; False: there is nothing to pass on)."""

    outcome: Claim
    attempts: int
    webhook: dict[str, Any] | None = None
    leads: bool = False


class RunLedger:
    """The worker side of job records; one instance per process, thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        retention_seconds: int,
        shares: ResultShare | None = None,
    ) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self.shares = shares or ResultShare(client, keys, retention_seconds, retention_seconds)
        self._claim = script(client, "claim", "fair_rank", "fair_handover", "celery_meta")
        self._progress = script(client, "progress")
        self._finish = script(client, "finish")
        self._duration = script(client, "record_duration")

    def claim(self, job_id: str, worker: str, deadline: float) -> Claimed:
        """Start (or restart) a run: what to do, how many runs were started so far, and
        the job's webhook (read in the same round trip).

        A delivery of a job that already finished (a redelivery after a crash between
        storing the result and the ack) or whose record is gone must not run again.
        """
        claimed, _handed = self.claim_and_refill(job_id, worker, deadline)
        return claimed

    def claim_and_refill(
        self,
        job_id: str,
        worker: str,
        deadline: float,
        margin: int = 0,
        hand_over: tuple[int, TakeRequest] | None = None,
        started: tuple[str, int] | None = None,
    ) -> tuple[Claimed, list[Any]]:
        """claim(), and, when `hand_over` = (batch, request) and the claim left at least
        `batch` in-flight places free (the slots plus `margin`, less the jobs handed over
        and not started), the reply of the hand-over run in the same round trip
        (FairQueue.result reads it; [] when none ran). `started` = (Celery's encoded
        STARTED meta, its expiry): stored with a run's claim, unless a SUCCESS is."""
        k = self.keys
        batch, take = hand_over if hand_over else (0, TakeRequest([], []))
        with reachable():
            outcome, attempts, _room, webhook, leads, handed = self._claim(
                keys=[
                    k.job(job_id),
                    k.queued(),
                    k.celery_meta(job_id),
                    k.in_flight(),
                    k.published(),
                    k.running(),
                    k.workers(),
                    k.fair_ready(),
                    *take.keys,
                ],
                args=[
                    job_id,
                    k.events(job_id),
                    repr(time.time()),
                    worker,
                    repr(deadline),
                    str(self.retention),
                    str(margin),
                    str(batch),
                    started[0] if started else "",
                    str(started[1]) if started else "0",
                    *take.args,
                ],
            )
        claimed = Claimed(
            Claim(str(outcome)),
            int(attempts),
            json.loads(webhook) if webhook else None,
            int(leads) == 1,
        )
        return claimed, list(handed)

    def step(self, job_id: str, progress: Progress, attempt: int = 0) -> bool:
        """Record a step of the run that claimed `attempt` (0: unfenced); False when the
        client asked to cancel the job (stop now). Raises Superseded when the job was
        claimed again since."""
        with reachable():
            done = int(
                self._progress(
                    keys=[self.keys.job(job_id)],
                    args=[self.keys.events(job_id), progress.to_json(), str(attempt or "")],
                )
            )
        if done == -2:
            raise Superseded(job_id)
        return done != -1

    def finish(
        self,
        job_id: str,
        label: str,
        duration: float | None,
        error: dict[str, Any] | None = None,
        progress: Progress | None = None,
        *,
        attempt: int = 0,
        result: Any = NO_RESULT,
        leads: bool = True,
    ) -> bool:
        """Record the end of the run that claimed `attempt` (0: unfenced; with a success's `result`
        as Celery's backend stores it, in the same step) and, for successes, its duration
        for estimates. Raises Superseded, writing nothing, when the job was claimed again.
        True when the `result` was stored (Celery's own store of it would change nothing).

        A failed leader's followers fail with its error (see jobs/store/results.py); a run
        whose claim said it `leads` nothing has none, and nothing is read for them."""
        k, now = self.keys, time.time()
        meta = "" if result is NO_RESULT else success_meta(result, now)
        fence = str(attempt) if attempt else ""
        args = [k.events(job_id), fence, meta, str(self.retention), "finishedAt", repr(now)]
        if error is not None:
            args += ["error", json.dumps(error)]
        if progress is not None:
            args += ["progress", progress.to_json()]
        keys = [k.job(job_id), k.celery_meta(job_id)]
        with reachable():
            if duration is None:
                done = int(self._finish(keys=keys, args=args))
            else:  # the outcome and the run time in one round trip (two scripts, pipelined)
                pipe = self.redis.pipeline(transaction=False)
                # EVAL with the text, as JobStore.read does: a pipelined EVALSHA would need
                # a SCRIPT EXISTS round trip first (redis-py), or could miss the cache.
                pipe.eval(lua("finish"), 2, *keys, *args)
                pipe.eval(lua("record_duration"), 2, *self._duration_call(label, duration))
                done = int(pipe.execute()[0])
        if done == -1:
            raise Superseded(job_id)
        if error is not None and leads:
            self.shares.failed(job_id, error)
        return done == 1 and bool(meta)

    def succeeded(
        self, job_id: str, result: Any, progress: Progress, *, keep: bool, changes_data: bool
    ) -> None:
        """After a success: a deterministic kind's result is kept for reuse and given to
        its followers (`keep`); a kind that `changes_data` makes cached versions stale."""
        try:
            if changes_data:
                self.shares.data_changed()
            if keep:
                self.shares.completed(job_id, result, progress)
        except (StoreUnavailable, redis.RedisError) as exc:
            # The job itself succeeded; its followers end `not-started` (JOB_QUEUE_TIMEOUT).
            log.warning("job %s: result not shared for reuse: %s", job_id, exc)

    def record_duration(self, label: str, seconds: float) -> None:
        """Keep the last few run times of a `kind:type` and their mean (read by estimates)."""
        keys_and_args = self._duration_call(label, seconds)
        with reachable():  # one round trip: push, trim and store the new mean
            self._duration(keys=keys_and_args[:2], args=keys_and_args[2:])

    def _duration_call(self, label: str, seconds: float) -> list[str]:
        """KEYS then ARGV of record_duration.lua."""
        k = self.keys
        return [k.durations(label), k.stats(), f"{seconds:.6f}", str(RECENT_DURATIONS), label]
