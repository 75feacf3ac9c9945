"""FairQueue: per-client backlogs in Redis, handed to the broker a few jobs at a time.

A submitted job waits in its client's backlog (a sorted set: priority band, then submit
order). The hand-over (fair_take.lua) moves jobs to the in-flight set, clients in
weighted round robin (stride scheduling: each client has a pass, the client with the
lowest pass goes next and its pass grows by 1/weight), until the workers' slots plus a
margin are in flight; the caller publishes them, then confirms (fair_mark.lua). A claim
takes a job out of the in-flight set. A hand-over whose process died before it
confirmed the publish is republished by the next hand-over after STALE_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from jobs.errors import StoreUnavailable
from jobs.store.connection import reachable, script
from jobs.store.jobs import PROVISIONAL_SECONDS
from jobs.store.keys import Keys
from jobs.store.record import JobRecord

PRIORITY_BANDS = {"high": 0, "normal": 1, "low": 2}
# An unconfirmed hand-over older than this is republished: far above a publish's time.
STALE_SECONDS = 10.0


@dataclass(frozen=True)
class Handed:
    """A job moved to the in-flight set: publish it to the broker."""

    id: str
    kind: str
    type: str
    parameters: str  # JSON, as stored in the record


@dataclass(frozen=True)
class TakeResult:
    """What a hand-over did: the jobs to publish, and the confirmed job's queue rank."""

    jobs: list[Handed]
    rank: int | None
    mean_duration: float | None
    worker_slots: int


@dataclass(frozen=True)
class QuotaExceeded:
    """A submission over one of its client's quotas."""

    quota: str  # "unfinished" or "rate"
    retry_after: int
    limit: int


class FairQueue:
    """The web's and the workers' access to the backlogs; thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        retention_seconds: int,
        tombstone_seconds: int,
        margin: int,
        lost_seconds: float,
    ) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self.tombstone_ttl = tombstone_seconds
        self.margin = margin
        self.lost = lost_seconds
        self._submit = script(client, "fair_submit")
        self._take = script(client, "fair_take", "fair_rank")
        self._mark = script(client, "fair_mark")
        self._withdraw = script(client, "fair_withdraw")
        self._counts = script(client, "fair_counts")

    def submit(
        self,
        record: JobRecord,
        mode: str,
        weight: int,
        priority: str,
        limits: tuple[int, int],
    ) -> QuotaExceeded | None:
        """Check quotas and queue (mode `submit`: also write the record provisionally;
        `admit`: only check and count; `enqueue`: only queue). None when it passed."""
        k, owner = self.keys, record.owner
        args: list[Any] = [
            record.id,
            owner,
            str(weight),
            str(PRIORITY_BANDS[priority]),
            repr(record.created_at),
            str(PROVISIONAL_SECONDS),
            str(limits[0]),
            str(limits[1]),
            mode,
            k.job(""),
            record.label,
        ]
        if mode == "submit":
            for name, value in record.to_hash().items():
                args += [name, value]
        with reachable():
            reply = self._submit(
                keys=[
                    k.job(record.id),
                    k.queued(),
                    k.owner_jobs(owner, record.kind),
                    k.backlog(owner),
                    k.fair_ready(),
                    k.fair_clock(),
                    k.fair_seq(),
                    k.fair_weights(),
                    k.unfinished(owner),
                    k.submits(owner),
                    k.stats(),
                    k.fair_passes(),
                ],
                args=args,
            )
        if reply[0] == "ok":
            return None
        return QuotaExceeded(str(reply[0]), int(reply[1]), int(reply[2]))

    def take(self, commit: JobRecord | None = None) -> TakeResult:
        """Hand jobs over (confirming `commit`, a just-submitted job, first)."""
        k = self.keys
        with reachable():
            reply = self._take(
                keys=[
                    k.fair_ready(),
                    k.fair_clock(),
                    k.in_flight(),
                    k.published(),
                    k.fair_weights(),
                    k.workers(),
                    k.job(commit.id if commit else "-"),
                    k.tombstone(commit.id if commit else "-"),
                    k.stats(),
                    k.fair_passes(),
                ],
                args=[
                    k.backlog(""),
                    k.job(""),
                    repr(time.time()),
                    str(self.margin),
                    str(STALE_SECONDS),
                    str(self.lost),
                    commit.id if commit else "",
                    str(self.retention),
                    str(self.tombstone_ttl),
                    commit.owner if commit else "",
                    commit.label if commit else "",
                ],
            )
        rank, mean, slots, *flat = reply
        if int(rank) == -2:
            raise StoreUnavailable("the job's provisional record expired before its hand-over")
        jobs = [Handed(*map(str, flat[i : i + 4])) for i in range(0, len(flat), 4)]
        return TakeResult(
            jobs, int(rank) if int(rank) >= 0 else None, float(mean) if mean else None, int(slots)
        )

    def mark(self, job_ids: list[str]) -> None:
        """Confirm the publish of handed-over jobs."""
        if job_ids:
            with reachable():
                self._mark(keys=[self.keys.in_flight(), self.keys.published()], args=job_ids)

    def withdraw(self, record: JobRecord) -> None:
        """Remove every trace of a submitted job that could not be handed over."""
        k, owner = self.keys, record.owner
        with reachable():
            self._withdraw(
                keys=[
                    k.job(record.id),
                    k.tombstone(record.id),
                    k.queued(),
                    k.owner_jobs(owner, record.kind),
                    k.backlog(owner),
                    k.in_flight(),
                    k.published(),
                    k.unfinished(owner),
                    k.submits(owner),
                ],
                args=[record.id],
            )

    def counts(self) -> dict[str, dict[str, int]]:
        """{client: {"queued": n, "running": n}}; prunes finished jobs from the running set."""
        k = self.keys
        with reachable():
            flat = self._counts(
                keys=[k.fair_ready(), k.in_flight(), k.running()],
                args=[k.backlog(""), k.job("")],
            )
        return {
            str(flat[i]): {"queued": int(flat[i + 1]), "running": int(flat[i + 2])}
            for i in range(0, len(flat), 3)
        }
