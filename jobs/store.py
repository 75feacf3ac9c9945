"""JobStore: job records in Redis, read together with Celery's result in one round trip."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from jobs.errors import StoreUnavailable
from jobs.keys import Keys

RECENT_DURATIONS = 20  # run times kept per report type for estimates
# How long a created job's record lives until its enqueue is confirmed (commit): a
# record whose enqueue failed, or that a hung Redis applied after the client got 503,
# disappears by itself. Far above the time a publish may take.
PROVISIONAL_SECONDS = 30
PENDING = "pending"  # field of a record whose enqueue is not yet confirmed


def connect(
    url: str, timeout: float = 2.0, patience: float = 0.5, retry_timeouts: bool = True
) -> redis.Redis:
    """A Redis client that never hangs and checks idle connections.

    A failed command is retried with jittered backoff for about `patience` seconds in
    all: short for the web (a client gets 503 within ~2 s), longer for workers, which
    would rather ride out a Redis restart than fail a job.
    """
    retries = max(1, int(patience / 0.25))
    # A timeout means Redis hangs: retrying it only multiplies the client's wait.
    retried = (
        (redis.ConnectionError, redis.TimeoutError) if retry_timeouts else (redis.ConnectionError,)
    )
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=30,
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries, supported_errors=retried
        ),
        retry_on_timeout=retry_timeouts,
    )


@contextmanager
def reachable() -> Iterator[None]:
    """Turn redis-py's connection failures into StoreUnavailable."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(str(exc)) from exc


@dataclass
class JobRecord:
    """What we know about a job apart from Celery's result."""

    id: str
    report_type: str
    parameters: dict[str, Any]
    owner: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    worker: str | None = None
    attempts: int = 0
    deadline: float | None = None

    def to_hash(self) -> dict[str, str]:
        """Flatten for HSET (only the fields that are set)."""
        out = {
            "id": self.id,
            "reportType": self.report_type,
            "parameters": json.dumps(self.parameters, separators=(",", ":"), sort_keys=True),
            "owner": self.owner,
            "createdAt": repr(self.created_at),
            "attempts": str(self.attempts),
        }
        if self.started_at is not None:
            out["startedAt"] = repr(self.started_at)
        if self.finished_at is not None:
            out["finishedAt"] = repr(self.finished_at)
        if self.error is not None:
            out["error"] = json.dumps(self.error)
        if self.cancel_requested:
            out["cancel"] = "1"
        if self.worker:
            out["worker"] = self.worker
        if self.deadline is not None:
            out["deadline"] = repr(self.deadline)
        return out

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobRecord:
        """Rebuild from HGETALL output."""

        def num(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        return cls(
            id=h["id"],
            report_type=h["reportType"],
            parameters=json.loads(h.get("parameters") or "{}"),
            owner=h.get("owner", ""),
            created_at=float(h["createdAt"]),
            started_at=num("startedAt"),
            finished_at=num("finishedAt"),
            error=json.loads(h["error"]) if h.get("error") else None,
            cancel_requested=h.get("cancel") == "1",
            worker=h.get("worker") or None,
            attempts=int(h.get("attempts") or 0),
            deadline=num("deadline"),
        )


@dataclass
class JobSnapshot:
    """A job's record and Celery result as read together, plus what estimates need."""

    record: JobRecord
    celery_meta: dict[str, Any] | None
    queue_rank: int | None
    mean_duration: float | None
    worker_slots: int
    read_at: float = field(default_factory=time.time)

    @property
    def celery_state(self) -> str | None:
        """Celery's state, or None when Celery has written nothing yet."""
        return self.celery_meta.get("status") if self.celery_meta else None


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
        self._update_script = client.register_script(_UPDATE_IF_EXISTS)
        self._claim_script = client.register_script(_CLAIM)
        self._fail_overdue_script = client.register_script(_FAIL_OVERDUE)
        self._duration_script = client.register_script(_RECORD_DURATION)

    # -- web side ---------------------------------------------------------
    def create(self, record: JobRecord) -> None:
        """Write a new job's record and indexes in one pipeline, provisionally (see commit)."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            fields_: dict[Any, Any] = {**record.to_hash(), PENDING: "1"}
            pipe.hset(k.job(record.id), mapping=fields_)
            pipe.expire(k.job(record.id), PROVISIONAL_SECONDS)
            pipe.zadd(k.queued(), {record.id: record.created_at})
            pipe.zadd(k.owner_jobs(record.owner), {record.id: record.created_at})
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
            pipe.zrem(k.owner_jobs(record.owner), record.id)
            pipe.execute()

    def read(self, job_id: str) -> JobSnapshot | None:
        """Read a job's whole state in one round trip; None when there is no record."""
        k = self.keys
        keys = [k.job(job_id), k.celery_meta(job_id), k.queued(), k.stats(), k.workers()]
        with reachable():
            # One EVAL (not EVALSHA, which can miss the script cache): always exactly one
            # round trip, atomic like MULTI, one reply to parse instead of seven; a status
            # poll costs ~35 us less CPU than with a five-command MULTI (bench/README.md).
            found = self.redis.eval(_READ, len(keys), *keys, job_id)
        if not found:
            return None
        flat, meta, rank, mean, slots = found
        fields_ = dict(zip(flat[::2], flat[1::2], strict=True))
        if PENDING in fields_:
            return None  # created, but its enqueue is not confirmed (see commit)
        record = JobRecord.from_hash(fields_)
        return JobSnapshot(
            record=record,
            celery_meta=json.loads(meta) if meta else None,
            queue_rank=rank,
            mean_duration=float(mean) if mean else None,
            worker_slots=int(slots),
        )

    def existed(self, job_id: str) -> str | None:
        """The owner of a job whose record is gone but whose tombstone remains."""
        with reachable():
            owner = self.redis.get(self.keys.tombstone(job_id))
        return str(owner) if owner is not None else None

    def read_many(self, job_ids: list[str]) -> list[JobSnapshot | None]:
        """Read several jobs in one round trip (None for each id without a record)."""
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
        out: list[JobSnapshot | None] = []
        for i in range(0, len(rows), 3):
            raw, meta, rank = rows[i : i + 3]
            if not raw or PENDING in raw:
                out.append(None)
                continue
            record = JobRecord.from_hash(raw)
            mean = stats.get(record.report_type)
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

    def owner_page(
        self, owner: str, before: tuple[float, str] | None, count: int
    ) -> list[tuple[str, float]]:
        """Up to `count` of a client's job ids, newest first, strictly after `before`."""
        key = self.keys.owner_jobs(owner)
        with reachable():
            if before is None:
                rows: Any = self.redis.zrevrange(key, 0, count - 1, withscores=True)
                return [(str(m), float(sc)) for m, sc in rows]
            score, last_id = before
            # Ties (same creation time) sort by id descending; skip those already seen.
            rows = self.redis.zrevrangebyscore(
                key, score, "-inf", start=0, num=count + 64, withscores=True
            )
        page = [
            (str(m), float(sc)) for m, sc in rows if not (float(sc) == score and str(m) >= last_id)
        ]
        return page[:count]

    def prune_owner(self, owner: str, job_ids: list[str]) -> None:
        """Drop ids whose records have expired from a client's index."""
        if job_ids:
            with reachable():
                self.redis.zrem(self.keys.owner_jobs(owner), *job_ids)

    def request_cancel(self, job_id: str, queued: bool) -> None:
        """Flag a job as cancelled; a queued one is finished from now on."""
        fields_ = {"cancel": "1"}
        if queued:
            fields_["finishedAt"] = repr(time.time())
            with reachable():
                self.redis.zrem(self.keys.queued(), job_id)
        self._update(job_id, fields_)

    def forget(self, record: JobRecord) -> None:
        """Remove a finished job's record and result; the tombstone stays (410, not 404)."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(k.job(record.id), k.celery_meta(record.id))
            pipe.zrem(k.queued(), record.id)
            pipe.zrem(k.owner_jobs(record.owner), record.id)
            pipe.publish(k.events(record.id), "forgotten")
            pipe.execute()

    def fail_overdue(self, record: JobRecord, error: dict[str, Any]) -> bool:
        """Fail a job that missed its deadline, unless it finished or restarted meanwhile."""
        k = self.keys
        expected = repr(record.deadline) if record.deadline is not None else ""
        with reachable():
            done = self._fail_overdue_script(
                keys=[k.job(record.id), k.queued()],
                args=[
                    record.id,
                    k.events(record.id),
                    expected,
                    json.dumps(error),
                    repr(time.time()),
                ],
            )
        return bool(done)

    # -- worker side ------------------------------------------------------
    def claim(self, job_id: str, worker: str, deadline: float) -> tuple[str, int]:
        """Start (or restart) a run: ("run", attempts), or ("finished"|"missing"|"cancelled", n).

        A delivery of a job that already finished (a redelivery after a crash between
        storing the result and the ack) or whose record is gone must not run again.
        """
        k = self.keys
        with reachable():
            outcome, attempts = self._claim_script(
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
        return str(outcome), int(attempts)

    def cancel_requested(self, job_id: str) -> bool:
        """True when the client asked to cancel the job (checked at every checkpoint)."""
        with reachable():
            return self.redis.hget(self.keys.job(job_id), "cancel") == "1"

    def mark_finished(
        self,
        job_id: str,
        report_type: str,
        duration: float | None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record the end of a run and, for successes, its duration for estimates."""
        fields_ = {"finishedAt": repr(time.time())}
        if error is not None:
            fields_["error"] = json.dumps(error)
        self._update(job_id, fields_)
        if duration is not None:
            self.record_duration(report_type, duration)

    def record_duration(self, report_type: str, seconds: float) -> None:
        """Keep the last few run times of a type and their mean (read by estimates)."""
        k = self.keys
        with reachable():  # one round trip: push, trim and store the new mean
            self._duration_script(
                keys=[k.durations(report_type), k.stats()],
                args=[f"{seconds:.6f}", str(RECENT_DURATIONS), report_type],
            )

    def register_worker(self, hostname: str, slots: int) -> None:
        """Announce a worker's pool size, so queue estimates know the parallelism."""
        with reachable():
            self.redis.hset(self.keys.workers(), hostname, str(slots))

    def unregister_worker(self, hostname: str) -> None:
        """Forget a worker that shut down."""
        with reachable():
            self.redis.hdel(self.keys.workers(), hostname)

    def notify(self, job_id: str) -> None:
        """Tell waiting clients (long polls) that a job's document changed."""
        with reachable():
            self.redis.publish(self.keys.events(job_id), "changed")

    def _update(self, job_id: str, mapping: dict[str, str], incr_attempts: bool = False) -> None:
        k = self.keys
        args: list[str] = ["1" if incr_attempts else "0", k.events(job_id)]
        for name, value in mapping.items():
            args += [name, value]
        with reachable():
            self._update_script(keys=[k.job(job_id)], args=args)


# Claim a job for a run: refuse a finished or missing job, else count the attempt
# and set the deadline by which it must finish or be running again.
# Keep the last ARGV[2] run times of a type and store their mean under the type's name.
_RECORD_DURATION = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local recent = redis.call('LRANGE', KEYS[1], 0, -1)
local total = 0
for _, seconds in ipairs(recent) do total = total + tonumber(seconds) end
redis.call('HSET', KEYS[2], ARGV[3], string.format('%.6f', total / #recent))
return #recent
"""

_CLAIM = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', 0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
-- a cancelled job (a queued one is already finished) ends REVOKED in the task, unrun
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return {'cancelled', attempts} end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return {'finished', attempts} end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'startedAt', ARGV[3], 'worker', ARGV[4], 'deadline', ARGV[5])
-- a job that runs is kept for the retention window even if its commit was lost
if redis.call('HDEL', KEYS[1], 'pending') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
redis.call('PUBLISH', ARGV[2], 'changed')
return {'run', attempts}
"""

# Fail an overdue job, but only if nobody finished or re-claimed it since it was read
# (a new claim writes a new deadline).
_FAIL_OVERDUE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return 0 end
if (redis.call('HGET', KEYS[1], 'deadline') or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'finishedAt', ARGV[5], 'error', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'changed')
return 1
"""

# A job's whole state: its record, Celery's result, its queue rank, the mean run time of
# its type and the workers' total slots; false when there is no record.
_READ = """
local job = redis.call('HGETALL', KEYS[1])
if #job == 0 then return false end
local mean = false
for i = 1, #job, 2 do
  if job[i] == 'reportType' then mean = redis.call('HGET', KEYS[4], job[i + 1]) end
end
local slots = 0
for _, v in ipairs(redis.call('HVALS', KEYS[5])) do
  if string.match(v, '^%d+$') then slots = slots + tonumber(v) end
end
return {job, redis.call('GET', KEYS[2]), redis.call('ZRANK', KEYS[3], ARGV[1]), mean, slots}
"""


# Update fields of a record only if it still exists, then announce the change.
_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '1' then redis.call('HINCRBY', KEYS[1], 'attempts', 1) end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PUBLISH', ARGV[2], 'changed')
return 1
"""
