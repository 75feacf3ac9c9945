"""The one place that builds each process's clients: Redis, the job store, Celery.

Nothing connects here: redis-py and kombu connect on first use, so building clients at
import time (the worker's Celery app) or in an app factory (the web) is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import redis
from celery import Celery
from sqlalchemy.exc import SQLAlchemyError

from jobs.broker_messages import RedisMessages, pushes_to_redis
from jobs.celery_config import DEFAULT_QUEUE, celery_config
from jobs.history.queries import HistoryReader
from jobs.history.recorder import HistoryRecorder
from jobs.history.tables import create_tables, make_engine
from jobs.registry import Kinds, load_kinds
from jobs.settings import Settings
from jobs.store.celery_results import backend_url
from jobs.store.connection import connect
from jobs.store.fairness import FairQueue
from jobs.store.idempotency import IdempotencyKeys
from jobs.store.index import OwnerIndex
from jobs.store.jobs import JobStore
from jobs.store.keys import Keys
from jobs.store.results import ResultShare
from jobs.store.runs import RunLedger
from jobs.store.throttle import PollGate
from jobs.store.waiting import ChangeFeed
from jobs.store.webhooks import DeliveryStore, SecretStore
from jobs.store.workers import WorkerRegistry

# Seconds a worker keeps retrying a Redis command: enough to ride out a Redis restart.
WORKER_REDIS_PATIENCE = 15.0


def web_redis(settings: Settings, threads: int = 64) -> redis.Redis:
    """The web's Redis: short timeouts, never retried on a timeout (a client gets 503
    within about two seconds when Redis hangs); two connections per thread at most (a
    waiting request's pub/sub and its reads)."""
    return connect(
        settings.result_backend_url,
        settings.web_redis_timeout,
        retry_timeouts=False,
        max_connections=2 * threads + 16,
    )


def worker_redis(settings: Settings) -> redis.Redis:
    """A worker's Redis: it rides out a Redis restart rather than fail a job."""
    return connect(settings.result_backend_url, settings.redis_timeout, WORKER_REDIS_PATIENCE)


def web_celery(settings: Settings) -> Celery:
    """The web's Celery producer: no result backend, one short publish attempt."""
    producer = Celery("async-reports", set_as_current=False)
    # The web never waits on an AsyncResult (it reads results through the store), so
    # it needs no result backend: with one, every send_task SUBSCRIBEs to the task's
    # result channel (and UNSUBSCRIBEs when the AsyncResult is collected). Workers
    # keep their own result backend; the message does not name one.
    config = celery_config(settings)
    timeout = settings.web_redis_timeout
    # A client waits for one answer: one short publish attempt, then 503 (API.md:
    # "within a couple of seconds, never a hang").
    config.update(
        result_backend=None,
        broker_connection_timeout=timeout,
        broker_transport_options={
            **config["broker_transport_options"],
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # the same bound for RabbitMQ (py-amqp's names; Redis ignores them):
            # a frozen broker must not hang a publish and its confirm
            "read_timeout": timeout,
            "write_timeout": timeout,
        },
        task_publish_retry_policy={**config["task_publish_retry_policy"], "max_retries": 1},
    )
    producer.config_from_object(config)
    return producer


def worker_celery(settings: Settings) -> Celery:
    """The workers' Celery app (`celery --app worker`), with the shared configuration."""
    app = Celery("async-reports")
    config = celery_config(settings)
    # Results stored in one round trip per state (check, write, publish: see
    # jobs/store/celery_results.py) instead of Celery's GET before every SET.
    config["result_backend"] = backend_url(settings.result_backend_url)
    app.config_from_object(config)
    return app


def webhook_producer(settings: Settings) -> Celery:
    """The webhook worker's producer of delivery attempts: no `task-sent` events, so the
    monitor's job history sees jobs only."""
    app = Celery("async-reports-webhooks", set_as_current=False)
    app.config_from_object({**celery_config(settings), "task_send_sent_event": False})
    return app


def monitor_celery(settings: Settings) -> Celery:
    """The monitor's Celery app: it only consumes events from the broker."""
    app = Celery("async-reports-monitor", set_as_current=False)
    app.config_from_object(celery_config(settings))
    return app


def result_share(client: redis.Redis, keys: Keys, settings: Settings) -> ResultShare:
    """The reuse store with this deployment's retention and reuse window."""
    return ResultShare(
        client,
        keys,
        settings.retention_seconds,
        settings.result_reuse_seconds,
        settings.tombstone_seconds,
        # a leader may wait in the queue, then run until the broker hands it on
        leader_seconds=settings.job_queue_timeout + settings.visibility_timeout,
    )


def fair_queue(client: redis.Redis, keys: Keys, settings: Settings) -> FairQueue:
    """The per-client backlogs; an in-flight job whose publish was confirmed but that no
    worker started within JOB_QUEUE_TIMEOUT is given up (the deadline check fails it)."""
    return FairQueue(
        client,
        keys,
        settings.retention_seconds,
        settings.tombstone_seconds,
        settings.fair_broker_margin,
        settings.job_queue_timeout,
        DEFAULT_QUEUE if pushes_to_redis(settings) else None,
    )


@dataclass
class WebClients:
    """Everything the web reaches jobs with; built once per web process."""

    settings: Settings
    kinds: Kinds
    redis: redis.Redis
    celery: Celery

    @classmethod
    def build(cls, settings: Settings, threads: int = 64) -> WebClients:
        """The web's clients for a process of `threads` threads (they connect on first use)."""
        return cls(
            settings, load_kinds(settings), web_redis(settings, threads), web_celery(settings)
        )

    @cached_property
    def keys(self) -> Keys:
        """Key names under this deployment's prefix."""
        return Keys(self.settings.key_prefix)

    @cached_property
    def jobs(self) -> JobStore:
        """Job records."""
        s = self.settings
        return JobStore(self.redis, self.keys, s.retention_seconds, s.tombstone_seconds)

    @cached_property
    def shares(self) -> ResultShare:
        """Results kept for reuse, and jobs following a running computation."""
        return result_share(self.redis, self.keys, self.settings)

    @cached_property
    def fair(self) -> FairQueue:
        """Per-client backlogs and their hand-over to the broker (fair sharing)."""
        return fair_queue(self.redis, self.keys, self.settings)

    @cached_property
    def broker_messages(self) -> RedisMessages | None:
        """Renders a job's broker message at submit, for the hand-over script to push;
        None when it cannot (RabbitMQ, another Redis, no fair sharing): Celery publishes."""
        return RedisMessages(self.celery) if pushes_to_redis(self.settings) else None

    @cached_property
    def index(self) -> OwnerIndex:
        """Each client's jobs, for listing."""
        return OwnerIndex(self.redis, self.keys)

    @cached_property
    def idempotency(self) -> IdempotencyKeys:
        """Idempotency-Key claims."""
        return IdempotencyKeys(self.redis, self.keys, self.settings.retention_seconds)

    @cached_property
    def poll_gate(self) -> PollGate:
        """The minimum poll interval."""
        return PollGate(self.redis, self.keys)

    @cached_property
    def changes(self) -> ChangeFeed:
        """Change notifications (long polls)."""
        return ChangeFeed(self.redis, self.keys)

    @cached_property
    def deliveries(self) -> DeliveryStore:
        """Webhook deliveries (the log, redeliveries, events the web causes)."""
        return deliveries_of(self.redis, self.keys, self.settings)

    @cached_property
    def secrets(self) -> SecretStore:
        """Clients' webhook signing secrets."""
        return SecretStore(self.redis, self.keys, self.settings.webhook_secret_overlap)

    @cached_property
    def history(self) -> HistoryReader:
        """The monitor's job history, its tables created if the monitor has not yet."""
        engine = make_engine(self.settings.history_database_url)
        try:
            create_tables(engine)
        except SQLAlchemyError:  # another process created them at the same moment
            create_tables(engine)
        return HistoryReader(engine)


def deliveries_of(client: redis.Redis, keys: Keys, settings: Settings) -> DeliveryStore:
    """Webhook deliveries, kept as long as a job's tombstone (longer than any schedule)."""
    return DeliveryStore(client, keys, settings.tombstone_seconds)


@dataclass
class WorkerClients:
    """What a worker process writes jobs with; built once per (pool) process."""

    ledger: RunLedger
    registry: WorkerRegistry
    jobs: JobStore  # reads a job to build its webhook events
    deliveries: DeliveryStore
    secrets: SecretStore
    fair: FairQueue

    @classmethod
    def build(cls, settings: Settings) -> WorkerClients:
        """The worker's clients (redis-py reconnects by itself after a fork)."""
        client, keys = worker_redis(settings), Keys(settings.key_prefix)
        ledger = RunLedger(
            client, keys, settings.retention_seconds, result_share(client, keys, settings)
        )
        return cls(
            ledger,
            WorkerRegistry(client, keys),
            JobStore(client, keys, settings.retention_seconds, settings.tombstone_seconds),
            deliveries_of(client, keys, settings),
            SecretStore(client, keys, settings.webhook_secret_overlap),
            fair_queue(client, keys, settings),
        )


@dataclass
class MonitorClients:
    """The monitor's broker connection, job store (to read errors) and history writer."""

    celery: Celery
    jobs: JobStore
    recorder: HistoryRecorder

    @classmethod
    def build(cls, settings: Settings) -> MonitorClients:
        """The monitor's clients; creates the history tables."""
        engine = make_engine(settings.history_database_url)
        create_tables(engine)
        kinds = load_kinds(settings)
        task_types = {task: (k.name, t) for task, (k, t) in kinds.by_task.items()}
        store = JobStore(
            connect(settings.result_backend_url, settings.redis_timeout),
            Keys(settings.key_prefix),
            settings.retention_seconds,
            settings.tombstone_seconds,
        )
        return cls(monitor_celery(settings), store, HistoryRecorder(engine, task_types))
