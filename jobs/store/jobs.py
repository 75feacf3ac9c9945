"""JobStore: job records in Redis, read together with Celery's result in one round trip.

This is the web side's view of jobs: create, confirm, read, cancel, forget, and fail the
overdue. The worker side's writes are in jobs/store/runs.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from jobs.store.connection import lua, reachable, script
from jobs.store.keys import Keys
from jobs.store.record import PENDING, JobRecord, JobSnapshot

# How long a created job's record lives until its enqueue is confirmed (commit): a
# record whose enqueue failed, or that a hung Redis applied after the client got 503,
# disappears by itself. Far above the time a publish may take.
PROVISIONAL_SECONDS = 30


class JobStore:
    """Reads and writes job records; one instance per process, thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        retention_seconds: int,
        tombstone_seconds: int | None = None,
    ) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self.tombstone_ttl = tombstone_seconds or retention_seconds * 7
        self._read_script = lua("fair_rank") + lua("read")
        self._rank_of = script(client, "fair_rank_of", "fair_rank")
        self._update = script(client, "update")
        self._fail_overdue = script(client, "fail_overdue")

    def ping(self) -> bool:
        """True when Redis answers (readiness)."""
        with reachable():
            return bool(self.redis.ping())

    def create(self, record: JobRecord) -> None:
        """Write a new job's record and indexes in one transaction, provisionally (see commit)."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            fields: dict[Any, Any] = {**record.to_hash(), PENDING: "1"}
            pipe.hset(k.job(record.id), mapping=fields)
            pipe.expire(k.job(record.id), PROVISIONAL_SECONDS)
            pipe.zadd(k.queued(), {record.id: record.created_at})
            pipe.zadd(k.owner_jobs(record.owner, record.kind), {record.id: record.created_at})
            pipe.execute()

    def commit(self, record: JobRecord) -> None:
        """Confirm a created job once its task is enqueued: visible, kept for the retention
        window, and remembered by a tombstone (410 after expiry) from now on."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hdel(k.job(record.id), PENDING)
            pipe.expire(k.job(record.id), self.retention)
            pipe.set(k.tombstone(record.id), record.owner, ex=self.tombstone_ttl)
            pipe.execute()

    def discard(self, record: JobRecord) -> None:
        """Remove every trace of a job that could not be enqueued."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(k.job(record.id), k.tombstone(record.id), k.celery_meta(record.id))
            pipe.zrem(k.queued(), record.id)
            pipe.zrem(k.owner_jobs(record.owner, record.kind), record.id)
            pipe.execute()

    def read(self, job_id: str) -> JobSnapshot | None:
        """Read a job's whole state in one round trip; None when there is no record."""
        found = self.read_raw(job_id)
        return None if found is None else snapshot_of(found)

    def read_raw(self, job_id: str) -> RawJob | None:
        """What `read` parses, as Redis answered it (a fast path may reuse its parse)."""
        k = self.keys
        keys = [
            k.job(job_id),
            k.celery_meta(job_id),
            k.queued(),
            k.stats(),
            k.workers(),
            k.in_flight(),
            k.fair_ready(),
            k.fair_weights(),
        ]
        with reachable():
            # One EVAL (not EVALSHA, which can miss the script cache): always exactly one
            # round trip, atomic like MULTI, one reply to parse instead of seven; a status
            # poll costs ~35 us less CPU than with a five-command MULTI (bench/README.md).
            found = self.redis.eval(self._read_script, len(keys), *keys, job_id, k.backlog(""))
        return found or None

    def read_many(self, job_ids: list[str]) -> list[JobSnapshot | None]:
        """Read several jobs in one round trip, plus one when some are queued (their
        fair-order ranks); None for each id without a record."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(k.stats())
            pipe.hvals(k.workers())
            for job_id in job_ids:
                pipe.hgetall(k.job(job_id))
                pipe.get(k.celery_meta(job_id))
                pipe.zrank(k.queued(), job_id)
            stats, slots, *rows = pipe.execute()
        worker_slots = sum(int(s) for s in slots if s.isdigit())
        queued = [job_id for i, job_id in enumerate(job_ids) if rows[3 * i + 2] is not None]
        fair = dict(zip(queued, self.fair_ranks(queued), strict=True))
        out: list[JobSnapshot | None] = []
        for i in range(0, len(rows), 3):
            raw, meta, rank = rows[i : i + 3]
            if fair.get(job_ids[i // 3], -1) >= 0:
                rank = fair[job_ids[i // 3]]  # its place in the fair start order (read.lua)
            if not raw or PENDING in raw:
                out.append(None)
                continue
            record = JobRecord.from_hash(raw)
            mean = stats.get(record.label)
            out.append(
                JobSnapshot(
                    record=record,
                    celery_meta=json.loads(meta) if meta else None,
                    queue_rank=rank,
                    mean_duration=float(mean) if mean else None,
                    worker_slots=worker_slots,
                )
            )
        return out

    def being_created(self, job_id: str) -> bool:
        """True while a created job's enqueue is not yet confirmed (read() shows nothing)."""
        with reachable():
            return bool(self.redis.hexists(self.keys.job(job_id), PENDING))

    def fair_ranks(self, job_ids: list[str]) -> list[int]:
        """The fair-order ranks of queued jobs (-1: in no backlog), in one round trip;
        none when there are none to rank."""
        if not job_ids:
            return []
        k = self.keys
        with reachable():
            ranks = self._rank_of(
                keys=[k.in_flight(), k.fair_ready(), k.fair_weights()],
                args=[k.backlog(""), k.job(""), *job_ids],
            )
        return [int(r) for r in ranks]

    def existed(self, job_id: str) -> str | None:
        """The owner of a job whose record is gone but whose tombstone remains."""
        with reachable():
            owner = self.redis.get(self.keys.tombstone(job_id))
        return str(owner) if owner is not None else None

    def request_cancel(self, job_id: str, queued: bool, owner: str = "") -> None:
        """Flag a job as cancelled; a queued one is finished from now on, and leaves its
        client's backlog (it never reaches the broker) or the in-flight set."""
        fields = {"cancel": "1"}
        if queued:
            fields["finishedAt"] = repr(time.time())
            k = self.keys
            with reachable():
                pipe = self.redis.pipeline(transaction=True)
                pipe.zrem(k.queued(), job_id)
                pipe.zrem(k.backlog(owner), job_id)
                pipe.zrem(k.in_flight(), job_id)
                pipe.srem(k.published(), job_id)
                pipe.delete(k.broker_message(job_id))  # never to be pushed now
                pipe.execute()
        update(self._update, self.keys, job_id, fields)

    def forget(self, record: JobRecord) -> None:
        """Remove a finished job's record and result; the tombstone stays (410, not 404)."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(k.job(record.id), k.celery_meta(record.id))
            pipe.zrem(k.queued(), record.id)
            pipe.zrem(k.owner_jobs(record.owner, record.kind), record.id)
            pipe.publish(k.events(record.id), "forgotten")
            pipe.execute()

    def fail_overdue(self, record: JobRecord, error: dict[str, Any]) -> bool:
        """Fail a job that missed its deadline, unless it finished or restarted meanwhile."""
        k = self.keys
        expected = repr(record.deadline) if record.deadline is not None else ""
        with reachable():
            done = self._fail_overdue(
                keys=[k.job(record.id), k.queued(), k.celery_meta(record.id)],
                args=[
                    record.id,
                    k.events(record.id),
                    expected,
                    json.dumps(error),
                    repr(time.time()),
                ],
            )
        return bool(done)

    def progress_of(self, job_ids: list[str]) -> list[str | None]:
        """The recorded progress (JSON) of several jobs, in one round trip."""
        with reachable():
            pipe = self.redis.pipeline(transaction=False)
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "progress")
            return list(pipe.execute())


# read.lua's reply: the record's fields and values (flat), Celery's meta (JSON), the
# job's queue rank, the mean run time of its type, the workers' slots.
RawJob = tuple[list[str], str | None, int | None, str | None, int]


def snapshot_of(found: RawJob) -> JobSnapshot | None:
    """The snapshot of a read (None while its enqueue is unconfirmed, see commit)."""
    flat, meta, rank, mean, slots = found
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    if PENDING in fields:
        return None  # created, but its enqueue is not confirmed (see commit)
    return JobSnapshot(
        record=JobRecord.from_hash(fields),
        celery_meta=json.loads(meta) if meta else None,
        queue_rank=rank,
        mean_duration=float(mean) if mean else None,
        worker_slots=int(slots),
    )


def update(update_script: Any, keys: Keys, job_id: str, fields: dict[str, str]) -> None:
    """Set fields of a record that still exists and announce the change (one round trip)."""
    args = [keys.events(job_id)]
    for name, value in fields.items():
        args += [name, value]
    with reachable():
        update_script(keys=[keys.job(job_id)], args=args)
