"""The web side's connection to the job system: the store and the Celery producer."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import kombu.exceptions
import redis
from celery import Celery
from flask import Flask, current_app

from jobs.catalogue import ReportType
from jobs.celery_config import celery_config
from jobs.deadlines import overdue_problem
from jobs.errors import BrokerUnavailable, StoreUnavailable
from jobs.keys import Keys
from jobs.settings import Settings
from jobs.store import JobRecord, JobSnapshot, JobStore, connect

log = logging.getLogger(__name__)


@dataclass
class Backend:
    """Everything a request needs to reach jobs; built once per process."""

    settings: Settings
    store: JobStore
    celery: Celery

    @classmethod
    def from_settings(cls, settings: Settings) -> Backend:
        """Build clients (they connect lazily, on first use)."""
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
            },
            task_publish_retry_policy={**config["task_publish_retry_policy"], "max_retries": 1},
        )
        producer.config_from_object(config)
        client = connect(settings.result_backend_url, timeout, retry_timeouts=False)
        store = JobStore(
            client,
            Keys(settings.key_prefix),
            settings.retention_seconds,
            settings.tombstone_seconds,
        )
        return cls(settings, store, producer)

    def submit(
        self,
        report_type: ReportType,
        parameters: dict[str, Any],
        owner: str,
        job_id: str | None = None,
    ) -> JobSnapshot:
        """Record a job, then enqueue it; if the enqueue fails, leave nothing behind."""
        record = JobRecord(
            id=job_id or str(uuid.uuid4()),
            report_type=report_type.name,
            parameters=parameters,
            owner=owner,
            created_at=time.time(),
        )
        # The record is provisional (it expires in seconds) until the enqueue succeeded:
        # a create that Redis applies after we gave up (a frozen Redis) leaves nothing.
        self.store.create(record)
        try:
            self.celery.send_task(
                report_type.task_name, args=[record.id, parameters], task_id=record.id
            )
        except (kombu.exceptions.OperationalError, redis.RedisError, OSError) as exc:
            log.warning("enqueue of job %s failed: %s", record.id, exc)
            try:
                self.store.discard(record)
            except StoreUnavailable:
                log.warning("could not discard job %s; it expires by itself", record.id)
            raise BrokerUnavailable(str(exc)) from exc
        self.store.commit(record)
        return JobSnapshot(
            record=record,
            celery_meta=None,
            queue_rank=None,
            mean_duration=None,
            worker_slots=0,
            read_at=record.created_at,
        )

    def read(self, job_id: str) -> JobSnapshot | None:
        """Read a job; one past its deadline is moved to Failed first (see jobs.deadlines)."""
        snap = self.store.read(job_id)
        return None if snap is None else self.settle(snap)

    def settle(self, snap: JobSnapshot) -> JobSnapshot | None:
        """Move a job past its deadline to Failed and re-read it; others pass unchanged."""
        problem = overdue_problem(snap, self.settings, snap.read_at)
        if problem is None:
            return snap
        if self.store.fail_overdue(snap.record, problem):
            log.warning("job %s missed its deadline: %s", snap.record.id, problem["title"])
        return self.store.read(snap.record.id)


def init_app(app: Flask) -> None:
    """Attach a Backend to the app (no connection is made here)."""
    app.extensions["async_reports"] = Backend.from_settings(app.config["SETTINGS"])


def backend() -> Backend:
    """The Backend of the current app."""
    return current_app.extensions["async_reports"]
