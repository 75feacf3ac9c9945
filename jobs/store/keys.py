"""Every Redis key name the service uses, built in one place."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Celery's Redis result backend names its keys like this (see
# celery.backends.base.KeyValueStoreBackend.task_keyprefix); a unit test pins it.
CELERY_META_PREFIX = "celery-task-meta-"


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, so deployments (and tests) can share a Redis."""

    prefix: str = "ar"

    def job(self, job_id: str) -> str:
        """Hash holding one job's record."""
        return f"{self.prefix}:job:{job_id}"

    def tombstone(self, job_id: str) -> str:
        """Small marker that outlives a job's record, so expiry answers 410, not 404."""
        return f"{self.prefix}:gone:{job_id}"

    def queued(self) -> str:
        """Sorted set of jobs accepted but not yet started, scored by submit time."""
        return f"{self.prefix}:queued"

    def owner_jobs(self, owner: str, kind: str) -> str:
        """Sorted set of one client's jobs of one kind, scored by creation time."""
        return f"{self.prefix}:owner:{owner}:{kind}"

    def durations(self, label: str) -> str:
        """List of the most recent run times (seconds) of one `kind:type`."""
        return f"{self.prefix}:durations:{label}"

    def stats(self) -> str:
        """Hash of `kind:type` -> mean recent run time in seconds."""
        return f"{self.prefix}:stats:mean-duration"

    def workers(self) -> str:
        """Hash of worker hostname -> pool size, for queue-time estimates."""
        return f"{self.prefix}:workers"

    def events(self, job_id: str) -> str:
        """Pub/sub channel announcing that a job's document changed."""
        return f"{self.prefix}:events:{job_id}"

    def idempotency(self, owner: str, kind: str, key: str) -> str:
        """Maps a client's Idempotency-Key on one kind's collection to the job it created."""
        return f"{self.prefix}:idem:{owner}:{kind}:{key}"

    def poll_gate(self, client: str, job_id: str) -> str:
        """Short-lived marker of a client's last poll of a job (minimum poll interval)."""
        return f"{self.prefix}:poll:{client}:{job_id}"

    def reuse_result(self, digest: str) -> str:
        """Hash of a computed result kept for reuse, by digest of kind, type, normalised
        parameters and data version."""
        return f"{self.prefix}:reuse:result:{digest}"

    def reuse_leader(self, digest: str) -> str:
        """The job computing a digest's result now (the one identical requests follow)."""
        return f"{self.prefix}:reuse:leader:{digest}"

    def followers(self, job_id: str) -> str:
        """Set of jobs waiting for the result of a leader job."""
        return f"{self.prefix}:reuse:followers:{job_id}"

    def data_generation(self) -> str:
        """Counter bumped by workers whenever a job that changes the data completes."""
        return f"{self.prefix}:data:generation"

    def data_version(self) -> str:
        """`<generation>|<version token>`: the data version, cached for all web processes."""
        return f"{self.prefix}:data:version"

    def data_version_read(self) -> str:
        """Short-lived marker of the web process re-reading a stale data version."""
        return f"{self.prefix}:data:version-read"

    def backlog(self, client: str) -> str:
        """Sorted set of a client's jobs not yet handed to the broker, scored by priority
        band then submit order (fair sharing)."""
        return f"{self.prefix}:fair:backlog:{client}"

    def fair_ready(self) -> str:
        """Sorted set of clients with a backlog, scored by the virtual time (pass) at
        which their next job is handed over (weighted round robin)."""
        return f"{self.prefix}:fair:ready"

    def fair_clock(self) -> str:
        """The pass of the last job handed over; a client that joins starts there."""
        return f"{self.prefix}:fair:clock"

    def fair_passes(self) -> str:
        """Hash of client -> the pass its next job would have had when its backlog ran
        empty: it rejoins there (or at the clock, if later), gaining nothing by leaving."""
        return f"{self.prefix}:fair:passes"

    def fair_seq(self) -> str:
        """Counter giving each backlog entry its submit order."""
        return f"{self.prefix}:fair:seq"

    def fair_weights(self) -> str:
        """Hash of client -> weight, written by the web as the client submits."""
        return f"{self.prefix}:fair:weights"

    def in_flight(self) -> str:
        """Sorted set of jobs handed to the broker and not started, scored by hand-over time."""
        return f"{self.prefix}:fair:inflight"

    def published(self) -> str:
        """Set of in-flight jobs whose publish to the broker was confirmed."""
        return f"{self.prefix}:fair:published"

    def broker_message(self, job_id: str) -> str:
        """A queued job's broker message, rendered at submit for the hand-over to push
        (a Redis broker: jobs/broker_messages.py); gone once pushed."""
        return f"{self.prefix}:fair:msg:{job_id}"

    def running(self) -> str:
        """Set of jobs claimed by a worker (pruned of finished ones by the pump)."""
        return f"{self.prefix}:fair:running"

    def unfinished(self, client: str) -> str:
        """Set of a client's jobs that may be unfinished (quota; pruned when at the limit)."""
        return f"{self.prefix}:quota:unfinished:{client}"

    def submits(self, client: str) -> str:
        """Sorted set of a client's submissions of the last minute (rate quota)."""
        return f"{self.prefix}:quota:submits:{client}"

    def celery_meta(self, job_id: str) -> str:
        """Celery's result-backend key for a task id (our job id is the task id)."""
        return f"{CELERY_META_PREFIX}{job_id}"

    def delivery(self, delivery_id: str) -> str:
        """Hash of one webhook delivery (event, URL, body, status, lease)."""
        return f"{self.prefix}:wh:delivery:{delivery_id}"

    def delivery_attempts(self, delivery_id: str) -> str:
        """List of a delivery's attempts (JSON: time, status code, duration, error)."""
        return f"{self.prefix}:wh:attempts:{delivery_id}"

    def job_deliveries(self, job_id: str) -> str:
        """List of the webhook deliveries of one job, in the order of their events."""
        return f"{self.prefix}:wh:job:{job_id}"

    def deliveries_due(self) -> str:
        """Sorted set of deliveries to attempt, scored by when (the retry schedule)."""
        return f"{self.prefix}:wh:due"

    def webhook_secret(self, client: str) -> str:
        """Hash of a client's signing secret (and the previous one while a rotation is fresh)."""
        return f"{self.prefix}:wh:secret:{client}"

    def endpoint_gone(self, url: str) -> str:
        """Marker of a webhook URL that answered 410: nothing more is sent to it."""
        digest = hashlib.sha256(url.encode()).hexdigest()[:32]
        return f"{self.prefix}:wh:gone:{digest}"

    def failing_endpoints(self) -> str:
        """Hash of webhook URL -> its failure streak (JSON), for the ops page."""
        return f"{self.prefix}:wh:failing"

    def delivery_outcomes(self) -> str:
        """Hash of attempt outcome -> count (metrics)."""
        return f"{self.prefix}:wh:outcomes"
