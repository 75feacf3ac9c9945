"""FairQueue: per-client backlogs in Redis, handed to the broker a few jobs at a time.

A submitted job waits in its client's backlog (a sorted set: priority band, then submit
order). The hand-over (fair_handover.lua) moves jobs to the in-flight set, clients in
weighted round robin (stride scheduling: each client has a pass, the client with the
lowest pass goes next and its pass grows by 1/weight), until the workers' slots plus a
margin are in flight; the caller publishes them, then confirms (fair_mark.lua). It runs
inside the script of whatever frees or fills a place, so it costs no round trip of its
own: a submit (fair_submit.lua), a claim (claim.lua: the job leaves the in-flight set),
a worker's heartbeat (fair_take.lua). A hand-over whose process died before it
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
class TakeRequest:
    """A hand-over's keys and arguments, for the script that runs it (fair_handover.lua
    is part of fair_take, fair_submit and claim)."""

    keys: list[str]
    args: list[str]


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
        broker_queue: str | None = None,
    ) -> None:
        self.redis = client
        # The broker's queue list when it is this Redis: hand-overs push the messages
        # rendered at submit themselves (jobs/broker_messages.py).
        self.broker_queue = broker_queue
        self.keys = keys
        self.retention = retention_seconds
        self.tombstone_ttl = tombstone_seconds
        self.margin = margin
        self.lost = lost_seconds
        self._submit = script(client, "fair_submit", "fair_rank", "fair_handover")
        self._take = script(client, "fair_take", "fair_rank", "fair_handover")
        self._mark = script(client, "fair_mark")
        self._withdraw = script(client, "fair_withdraw")
        self._counts = script(client, "fair_counts")

    def submit(
        self,
        record: JobRecord,
        weight: int,
        priority: str,
        limits: tuple[int, int],
        message: str | None = None,
    ) -> QuotaExceeded | TakeResult:
        """Check quotas, write the record, queue it and hand over (confirming it), in one
        round trip: the jobs to publish, or the quota it is over. `message`: the job's
        broker message, for the hand-over to push (when this FairQueue has a queue)."""
        got = self._submit_as("submit", record, weight, priority, limits, message)
        assert got is not None
        return got

    def admit(
        self, record: JobRecord, weight: int, priority: str, limits: tuple[int, int]
    ) -> QuotaExceeded | None:
        """Only check the quotas and count the job (its record is written by reuse)."""
        got = self._submit_as("admit", record, weight, priority, limits)
        return got if isinstance(got, QuotaExceeded) else None

    def enqueue(
        self, record: JobRecord, weight: int, priority: str, message: str | None = None
    ) -> TakeResult:
        """Queue a job already admitted and written, and hand over (confirming it)."""
        got = self._submit_as("enqueue", record, weight, priority, (0, 0), message)
        assert isinstance(got, TakeResult)  # no quota is checked
        return got

    def _submit_as(
        self,
        mode: str,
        record: JobRecord,
        weight: int,
        priority: str,
        limits: tuple[int, int],
        message: str | None = None,
    ) -> QuotaExceeded | TakeResult | None:
        k, owner = self.keys, record.owner
        keys = [
            *self._job_keys(record),
            k.fair_ready(),
            k.fair_clock(),
            k.fair_seq(),
            k.fair_weights(),
            k.unfinished(owner),
            k.submits(owner),
            k.stats(),
            k.fair_passes(),
        ]
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
        if mode == "admit":
            args += [""] * 13
        else:
            take = self.request(record)
            keys += take.keys
            args += [*take.args, message if message and self.broker_queue else ""]
        if mode == "submit":
            for name, value in record.to_hash().items():
                args += [name, value]
        with reachable():
            reply = self._submit(keys=keys, args=args)
        if reply[0] != "ok":
            return QuotaExceeded(str(reply[0]), int(reply[1]), int(reply[2]))
        return None if mode == "admit" else self.result(reply[1:])

    def request(self, commit: JobRecord | None = None) -> TakeRequest:
        """The keys and arguments of a hand-over (fair_handover.lua), for whichever
        script runs it; `commit`: a just-submitted job to confirm first."""
        k = self.keys
        return TakeRequest(
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
                self.broker_queue or "",
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
                k.broker_message("") if self.broker_queue else "",
            ],
        )

    @staticmethod
    def result(reply: list[Any]) -> TakeResult:
        """A hand-over's reply as a TakeResult."""
        rank, mean, slots, *flat = reply
        if int(rank) == -2:
            raise StoreUnavailable("the job's provisional record expired before its hand-over")
        jobs = [Handed(*map(str, flat[i : i + 4])) for i in range(0, len(flat), 4)]
        return TakeResult(
            jobs, int(rank) if int(rank) >= 0 else None, float(mean) if mean else None, int(slots)
        )

    def take(self, commit: JobRecord | None = None) -> TakeResult:
        """Hand jobs over (confirming `commit`, a job queued without, first)."""
        take = self.request(commit)
        with reachable():
            return self.result(self._take(keys=take.keys, args=take.args))

    def mark(self, job_ids: list[str]) -> None:
        """Confirm the publish of handed-over jobs."""
        if job_ids:
            with reachable():
                self._mark(keys=[self.keys.in_flight(), self.keys.published()], args=job_ids)

    def _job_keys(self, record: JobRecord) -> list[str]:
        """A job's record and the sets that list it, first in fair_submit's and
        fair_withdraw's KEYS: record, queued set, owner index, backlog."""
        k = self.keys
        return [
            k.job(record.id),
            k.queued(),
            k.owner_jobs(record.owner, record.kind),
            k.backlog(record.owner),
        ]

    def withdraw(self, record: JobRecord) -> None:
        """Remove every trace of a submitted job that could not be handed over."""
        k, owner = self.keys, record.owner
        with reachable():
            self._withdraw(
                keys=[
                    *self._job_keys(record),
                    k.tombstone(record.id),
                    k.in_flight(),
                    k.published(),
                    k.unfinished(owner),
                    k.submits(owner),
                    k.broker_message(record.id),
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
