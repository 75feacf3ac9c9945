"""Webhook deliveries and signing secrets in Redis (see jobs/webhooks).

A delivery is one event of one job to one URL: recorded once (its id derives from the
job and the event, so a repeated event makes no second delivery), then attempted
whenever it is due in the `deliveries_due` sorted set, until it succeeded, failed for
good or was stopped (410). A job's deliveries go out in the order of its events: one
recorded while an earlier one is pending waits (at +inf in the due set) until that one
ends, and the end hands it to the same caller (`Finished.next`). The body is fixed when
the event happens, so every attempt (and a redelivery) sends the same bytes under the
same `webhook-id`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis

from jobs.store.connection import reachable, script
from jobs.store.keys import Keys
from jobs.webhooks.signing import new_secret

LEASE_BATCH = 50
GONE_SECONDS = 30 * 24 * 3600  # how long a 410 keeps a URL silent


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # an attempt is due or scheduled
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the retry schedule ran out, or the URL is refused now
    STOPPED = "stopped"  # the receiver answered 410 (to this or an earlier delivery)


def delivery_id(job_id: str, event_key: str) -> str:
    """The `webhook-id` of one event of one job: the same however often it is recorded."""
    return "msg_" + uuid.uuid5(uuid.NAMESPACE_URL, f"job:{job_id}/{event_key}").hex


@dataclass(frozen=True)
class Finished:
    """What recording an attempt did: whether its status was written (False: its lease
    had moved on), and the job's next delivery that its end released, leased (id, token)."""

    written: bool
    next: tuple[str, int] | None = None


@dataclass
class Delivery:
    """A delivery as stored, with its attempts."""

    id: str
    job: str
    kind: str
    owner: str
    event: str
    url: str
    body: str
    status: DeliveryStatus
    created_at: float
    next_at: float | None
    lease: int
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """The delivery log entry of the API (no body: it is the job's status document)."""
        return {
            "id": self.id,
            "event": self.event,
            "url": self.url,
            "status": str(self.status),
            "createdAt": self.created_at,
            "nextAttemptAt": self.next_at,
            "attempts": self.attempts,
        }


class DeliveryStore:
    """Webhook deliveries; one instance per process, thread-safe."""

    def __init__(self, client: redis.Redis, keys: Keys, ttl: int) -> None:
        self.redis = client
        self.keys = keys
        self.ttl = ttl
        self._emit = script(client, "webhook_emit", "webhook_order")
        self._lease = script(client, "webhook_lease")
        self._record = script(client, "webhook_record", "webhook_order")

    def record(
        self, job_id: str, kind: str, owner: str, event_key: str, event: str, url: str, body: str
    ) -> str | None:
        """Record a delivery and make it due now (or when the job's earlier deliveries
        have ended); None when this event was recorded before."""
        did = delivery_id(job_id, event_key)
        k, now = self.keys, time.time()
        fields = {
            "id": did,
            "job": job_id,
            "kind": kind,
            "owner": owner,
            "event": event,
            "url": url,
            "body": body,
            "status": str(DeliveryStatus.PENDING),
            "createdAt": repr(now),
            "nextAt": repr(now),
            "lease": "0",
        }
        args: list[str] = [did, str(self.ttl), repr(now), k.delivery("")]
        for name, value in fields.items():
            args += [name, value]
        with reachable():
            made = self._emit(
                keys=[k.delivery(did), k.job_deliveries(job_id), k.deliveries_due()], args=args
            )
        return did if made else None

    def lease(self, lease_seconds: float, limit: int = LEASE_BATCH) -> list[tuple[str, int]]:
        """The deliveries due now, each reserved for `lease_seconds` under a new token."""
        now = time.time()
        with reachable():
            flat = self._lease(
                keys=[self.keys.deliveries_due()],
                args=[repr(now), repr(now + lease_seconds), str(limit), self.keys.delivery("")],
            )
        return [(str(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def get(self, did: str) -> Delivery | None:
        """A delivery and its attempts, or None."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(k.delivery(did))
            pipe.lrange(k.delivery_attempts(did), 0, -1)
            h, attempts = pipe.execute()
        if not h:
            return None
        return Delivery(
            id=h["id"],
            job=h["job"],
            kind=h.get("kind", ""),
            owner=h.get("owner", ""),
            event=h["event"],
            url=h["url"],
            body=h["body"],
            status=DeliveryStatus(h["status"]),
            created_at=float(h["createdAt"]),
            next_at=float(h["nextAt"]) if h.get("nextAt") else None,
            lease=int(h.get("lease") or 0),
            attempts=[json.loads(a) for a in attempts],
        )

    def of_job(self, job_id: str) -> list[Delivery]:
        """Every delivery of a job, in the order of its events."""
        with reachable():
            ids = self.redis.lrange(self.keys.job_deliveries(job_id), 0, -1)
        found = (self.get(str(did)) for did in ids)
        return [d for d in found if d is not None]

    def finish_attempt(
        self,
        found: Delivery,
        token: int,
        attempt: dict[str, Any],
        status: DeliveryStatus,
        next_at: float | None,
        lease_seconds: float,
    ) -> Finished:
        """Log an attempt; under lease `token`, also the new status and next attempt.
        When the delivery has ended, the job's next one waiting behind it is leased for
        `lease_seconds` and returned, to be attempted now."""
        k, now = self.keys, time.time()
        with reachable():
            written, after, after_token = self._record(
                keys=[
                    k.delivery(found.id),
                    k.delivery_attempts(found.id),
                    k.deliveries_due(),
                    k.job_deliveries(found.job),
                ],
                args=[
                    found.id,
                    str(token),
                    json.dumps(attempt, separators=(",", ":")),
                    str(status),
                    "" if next_at is None else repr(next_at),
                    str(self.ttl),
                    k.delivery(""),
                    repr(now + lease_seconds),
                    repr(now),
                ],
            )
        return Finished(bool(written), (str(after), int(after_token)) if after else None)

    def redeliver(self, did: str) -> None:
        """Make a delivery pending and due now (the API's redelivery; same webhook-id)."""
        k = self.keys
        with reachable():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(k.delivery(did), mapping={"status": "pending", "nextAt": repr(time.time())})
            pipe.zadd(k.deliveries_due(), {did: time.time()})
            pipe.execute()

    def count(self, outcome: str) -> None:
        """Count one attempt's outcome (read by /metrics)."""
        with reachable():
            self.redis.hincrby(self.keys.delivery_outcomes(), outcome, 1)

    def outcomes(self) -> dict[str, int]:
        """Attempts so far by outcome."""
        with reachable():
            raw = self.redis.hgetall(self.keys.delivery_outcomes())
        return {str(k): int(v) for k, v in raw.items()}

    def pending(self) -> int:
        """Deliveries waiting for an attempt."""
        with reachable():
            return int(self.redis.zcard(self.keys.deliveries_due()))

    def mark_gone(self, url: str) -> None:
        """Remember that a URL answered 410."""
        with reachable():
            self.redis.set(self.keys.endpoint_gone(url), "1", ex=GONE_SECONDS)

    def is_gone(self, url: str) -> bool:
        """True when the URL answered 410 (nothing more is sent to it)."""
        with reachable():
            return bool(self.redis.exists(self.keys.endpoint_gone(url)))

    def endpoint_failed(self, url: str, owner: str, error: str) -> None:
        """Note a failed attempt to a URL (its streak shows on the ops page)."""
        k = self.keys
        with reachable():
            raw = self.redis.hget(k.failing_endpoints(), url)
            streak = json.loads(raw) if raw else {"failures": 0, "since": time.time()}
            streak.update(
                failures=streak["failures"] + 1, owner=owner, lastError=error, lastAt=time.time()
            )
            self.redis.hset(k.failing_endpoints(), url, json.dumps(streak))

    def endpoint_ok(self, url: str) -> None:
        """A URL answered 2xx: its failure streak ends."""
        with reachable():
            self.redis.hdel(self.keys.failing_endpoints(), url)

    def failing(self) -> dict[str, dict[str, Any]]:
        """URL -> failure streak of every endpoint whose last attempt failed."""
        with reachable():
            raw = self.redis.hgetall(self.keys.failing_endpoints())
        return {str(url): json.loads(v) for url, v in raw.items()}


class SecretStore:
    """Each client's signing secret, and the previous one for a while after a rotation."""

    def __init__(self, client: redis.Redis, keys: Keys, overlap_seconds: int) -> None:
        self.redis = client
        self.keys = keys
        self.overlap = overlap_seconds

    def current(self, client: str) -> str:
        """The client's secret, made on first use."""
        key = self.keys.webhook_secret(client)
        with reachable():
            self.redis.hsetnx(key, "current", new_secret())
            return str(self.redis.hget(key, "current"))

    def rotate(self, client: str) -> tuple[str, float]:
        """A new secret; the old one keeps signing beside it until the returned time."""
        key, until = self.keys.webhook_secret(client), time.time() + self.overlap
        old = self.current(client)
        fresh = new_secret()
        with reachable():
            self.redis.hset(
                key, mapping={"current": fresh, "previous": old, "previousUntil": repr(until)}
            )
        return fresh, until

    def signing(self, client: str) -> list[str]:
        """The secrets that sign a client's deliveries now: the current one first."""
        current = self.current(client)
        with reachable():
            previous, until = self.redis.hmget(
                self.keys.webhook_secret(client), ["previous", "previousUntil"]
            )
        if previous and until and float(until) > time.time():
            return [current, str(previous)]
        return [current]
