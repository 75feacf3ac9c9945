"""The hand-over of fairly ordered jobs to the broker, shared by the web and the workers.

The web hands over in each submit's script, a worker in each claim's (a slot's job
started) and on every heartbeat (so nothing waits on an idle system, and a hand-over whose
process died is republished): see jobs/store/fairness.py for the order and the bound.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import redis

from jobs.errors import BrokerUnavailable
from jobs.registry import Kinds
from jobs.store.fairness import FairQueue, TakeResult

log = logging.getLogger(__name__)

# publish(task name, job id, parameters): Celery's send_task with task_id=job id.
Publish = Callable[[str, str, dict[str, Any]], None]
PUBLISH_ERRORS = (kombu.exceptions.OperationalError, redis.RedisError, OSError)


def celery_publisher(celery: Any) -> Publish:
    """Publish by task name with the job id as task id (as the unfair path does)."""

    def publish(task: str, job_id: str, parameters: dict[str, Any]) -> None:
        celery.send_task(task, args=[job_id, parameters], task_id=job_id)

    return publish


def publish_taken(
    queue: FairQueue, kinds: Kinds, publish: Publish, taken: TakeResult
) -> TakeResult:
    """Publish the jobs a hand-over moved to the in-flight set, then confirm them;
    BrokerUnavailable if a publish failed (the unpublished ones stay in flight
    unconfirmed: the next hand-over after STALE_SECONDS publishes them again)."""
    sent: list[str] = []
    failure: BaseException | None = None
    for job in taken.jobs:
        try:
            kind = kinds[job.kind]
            publish(kind.task_names()[job.type], job.id, json.loads(job.parameters))
        except PUBLISH_ERRORS as exc:
            failure = exc
            break
        except KeyError:  # a kind or type this deployment no longer serves
            log.warning("job %s of unknown %s:%s not handed over", job.id, job.kind, job.type)
            continue
        sent.append(job.id)
    queue.mark(sent)
    if failure is not None:
        log.warning("hand-over to the broker failed: %s", failure)
        raise BrokerUnavailable(str(failure)) from failure
    return taken
