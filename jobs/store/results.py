"""ResultShare: results kept for reuse, and jobs that follow a computation already running.

A deterministic kind's job is keyed by a digest of its kind, type, normalised parameters
and the data version. When it is submitted (web side, `attach`), it is either answered
from the result kept under its digest (a copy in its own Celery meta key, so it lives and
dies with the job), made to follow the job computing that digest now, or made the
leader that computes it. When the leader ends (worker side), its result is kept and
copied to its followers (`completed`), its error given to them (`failed`); when it is
cancelled (`handover`), its oldest follower becomes the leader and is enqueued.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import redis
from kombu.utils.json import dumps as kombu_dumps

from jobs.store.connection import reachable, script
from jobs.store.keys import Keys
from jobs.store.record import JobRecord, Progress


@dataclass(frozen=True)
class Attached:
    """How a submitted job was settled: 'hit', 'follow' or 'lead', and the job it used."""

    outcome: str
    source: str | None = None


def success_meta(result: Any, now: float) -> str:
    """A Celery result-backend document of a success, as Celery's JSON serialiser writes it."""
    done = dt.datetime.fromtimestamp(now, dt.UTC).replace(tzinfo=None).isoformat()
    meta = {
        "status": "SUCCESS",
        "result": result,
        "traceback": None,
        "children": [],
        "date_done": done,
    }
    return str(kombu_dumps(meta))


class ResultShare:
    """Kept results, leaders and followers; one instance per process, thread-safe."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        retention_seconds: int,
        keep_seconds: int,
        tombstone_seconds: int | None = None,
        leader_seconds: int = 3600,
    ) -> None:
        self.redis = client
        self.keys = keys
        self.retention = retention_seconds
        self.keep = keep_seconds
        self.tombstone_ttl = tombstone_seconds or retention_seconds * 7
        self.leader_ttl = max(1, leader_seconds)
        self._attach = script(client, "reuse_attach")
        self._complete = script(client, "reuse_complete")
        self._fail = script(client, "reuse_fail")
        self._handover = script(client, "reuse_handover")

    # -- the web side -------------------------------------------------------------

    def attach(self, record: JobRecord, digest: str, fresh: bool) -> Attached:
        """Settle a just-created job: answered from a kept result, following, or leading."""
        k = self.keys
        with reachable():
            outcome, source = self._attach(
                keys=[
                    k.job(record.id),
                    k.reuse_result(digest),
                    k.reuse_leader(digest),
                    k.queued(),
                    k.celery_meta(record.id),
                    k.tombstone(record.id),
                ],
                args=[
                    record.id,
                    digest,
                    repr(time.time()),
                    str(self.retention),
                    str(self.tombstone_ttl),
                    "1" if fresh else "0",
                    k.job(""),
                    k.followers(""),
                    record.owner,
                    str(self.leader_ttl),
                ],
            )
        return Attached(str(outcome), str(source) or None)

    def followers_of(self, job_id: str) -> list[str]:
        """The jobs following a leader now (their webhooks are sent as it ends)."""
        with reachable():
            return sorted(str(f) for f in self.redis.smembers(self.keys.followers(job_id)))

    def handover(self, job_id: str) -> str | None:
        """Make the oldest live follower of a cancelled leader the leader (its id, or None)."""
        k = self.keys
        with reachable():
            new = self._handover(
                keys=[k.job(job_id), k.queued()],
                args=[
                    job_id,
                    k.reuse_leader(""),
                    k.followers(""),
                    k.job(""),
                    k.events(""),
                    str(self.leader_ttl),
                ],
            )
        return str(new) if new else None

    def cached_version(self, fresh_seconds: float) -> tuple[str, str | None, bool]:
        """(data generation, the cached version token if it belongs to that generation,
        whether it is older than `fresh_seconds` and should be read again)."""
        k = self.keys
        with reachable():
            generation, cached = self.redis.mget([k.data_generation(), k.data_version()])
        generation = str(generation or "0")
        if cached is None:
            return generation, None, True
        held, read_at, token = str(cached).split("|", 2)
        if held != generation:
            return generation, None, True
        return generation, token, time.time() - float(read_at) > fresh_seconds

    def remember_version(self, generation: str, token: str, fresh_seconds: float) -> None:
        """Cache a version token read from the database (shared by all web processes):
        fresh for `fresh_seconds`, then usable while it is read again, gone after twice."""
        if fresh_seconds <= 0:
            return
        value = f"{generation}|{time.time()!r}|{token}"
        with reachable():
            self.redis.set(self.keys.data_version(), value, px=int(fresh_seconds * 2000))

    def claim_version_read(self, fresh_seconds: float) -> bool:
        """True for the one web process that may read a stale version again now."""
        with reachable():
            won = self.redis.set(
                self.keys.data_version_read(), "1", nx=True, px=max(1, int(fresh_seconds * 1000))
            )
        return bool(won)

    # -- the worker side ----------------------------------------------------------

    def completed(self, job_id: str, result: Any, progress: Progress) -> int:
        """Keep a leader's result and complete its followers (how many; -1: not a leader)."""
        k = self.keys
        with reachable():
            done = self._complete(
                keys=[k.job(job_id)],
                args=[
                    job_id,
                    success_meta(result, time.time()),
                    repr(time.time()),
                    progress.to_json(),
                    str(self.keep),
                    k.reuse_result(""),
                    k.reuse_leader(""),
                    k.followers(""),
                    k.job(""),
                    k.celery_meta(""),
                    k.events(""),
                ],
            )
        return int(done)

    def failed(self, job_id: str, error: dict[str, Any]) -> int:
        """Fail a leader's followers with its error (how many; -1: not a leader)."""
        k = self.keys
        with reachable():
            done = self._fail(
                keys=[k.job(job_id)],
                args=[
                    job_id,
                    json.dumps(error),
                    repr(time.time()),
                    k.reuse_leader(""),
                    k.followers(""),
                    k.job(""),
                    k.events(""),
                ],
            )
        return int(done)

    def data_changed(self) -> None:
        """A job that changes the data completed: every cached data version is stale now."""
        with reachable():
            self.redis.incr(self.keys.data_generation())
