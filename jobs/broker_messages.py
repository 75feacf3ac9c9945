"""Task messages as kombu's Redis transport stores them, rendered when a job is submitted,
so the hand-over script that moves the job to the in-flight set enqueues it itself
(fair sharing on a Redis broker: no publish, and no round trip to confirm one).

The task part (Celery's protocol 2 headers, properties and body) is Celery's own
`amqp.create_task_message`, serialised by kombu; only the envelope the Redis transport
stores is built here, as kombu builds it (`virtual.Channel.prepare_message` and
`_inplace_augment_message`, then `redis.Channel._put`'s JSON into the queue's list).
`tests/integration/test_broker_messages.py` checks it equals what kombu itself pushes,
and that a worker runs it.

Not for RabbitMQ (its publish is the ordinary one), nor for a Redis broker other than
the store's own (the script can only write to its own server and database).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from celery import Celery
from kombu.serialization import dumps
from kombu.utils.json import dumps as json_dumps

from jobs.celery_config import DEFAULT_QUEUE, is_amqp
from jobs.settings import Settings

PERSISTENT = 2  # kombu's delivery_mode for the default (durable) exchange


def pushes_to_redis(settings: Settings) -> bool:
    """True when hand-overs can enqueue the messages themselves: fair sharing, and the
    broker is the store's own Redis (same URL, so same server and database)."""
    url = settings.broker_url
    return settings.fair_sharing and not is_amqp(url) and url == settings.redis_url


class RedisMessages:
    """Renders the message a Celery `send_task` of a job would push to the jobs queue."""

    queue = DEFAULT_QUEUE

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def render(self, task: str, job_id: str, parameters: dict[str, Any]) -> str:
        """The JSON the Redis transport would LPUSH for task `task` of job `job_id`."""
        app = self.celery
        headers, properties, body, _event = app.amqp.create_task_message(
            job_id,
            task,
            [job_id, parameters],
            {},
            reply_to=app.thread_oid,
            ignore_result=None,
        )
        content_type, content_encoding, data = dumps(body, serializer="json")
        encoded = data.encode(content_encoding) if isinstance(data, str) else data
        properties.update(
            delivery_mode=PERSISTENT,
            delivery_info={"exchange": "", "routing_key": self.queue},
            priority=0,
            body_encoding="base64",
            delivery_tag=str(uuid.uuid4()),
        )
        return json_dumps(
            {
                "body": base64.b64encode(encoded).decode("ascii"),
                "content-encoding": content_encoding,
                "content-type": content_type,
                "headers": headers,
                "properties": properties,
            }
        )
