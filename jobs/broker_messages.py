"""Task messages as kombu's Redis transport stores them, rendered when a job is submitted,
so the hand-over script that moves the job to the in-flight set enqueues it itself
(fair sharing on a Redis broker: no publish, and no round trip to confirm one).

The task part (Celery's protocol 2 headers, properties and body) is Celery's own
`amqp.create_task_message`, passed through the `before_task_publish` hooks (the request
id header, jobs/logs.py) and serialised by kombu; only the envelope the Redis transport
stores is built here, as kombu builds it (`virtual.Channel.prepare_message` and
`_inplace_augment_message`, then `redis.Channel._put`'s JSON into the queue's list,
written by jobs/jsontext.py: the same JSON in compact form).
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
from celery.signals import before_task_publish
from kombu.serialization import dumps

from jobs import jsontext
from jobs.celery_config import DEFAULT_QUEUE, is_amqp
from jobs.settings import Settings

PERSISTENT = 2  # kombu's delivery_mode for the default (durable) exchange


def pushes_to_redis(settings: Settings) -> bool:
    """True when hand-overs can enqueue the messages themselves: fair sharing, and the
    broker is the store's own Redis (same URL, so same server and database)."""
    url = settings.broker_url
    return settings.fair_sharing and not is_amqp(url) and url == settings.redis_url


def plain_repr(args: list[Any], limit: int) -> str | None:
    """repr() of a job's arguments when it is what Celery's saferepr gives (flat
    parameters, short enough), for a fraction of its cost; None lets Celery compute it."""
    _job_id, parameters = args
    if any(isinstance(v, dict | list | tuple | set | bytes) for v in parameters.values()):
        return None
    text = repr(args)
    return text if len(text) < limit // 2 else None


class RedisMessages:
    """Renders the message a Celery `send_task` of a job would push to the jobs queue."""

    queue = DEFAULT_QUEUE

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def render(self, task: str, job_id: str, parameters: dict[str, Any]) -> str:
        """The JSON the Redis transport would LPUSH for task `task` of job `job_id`."""
        app = self.celery
        args = [job_id, parameters]
        headers, properties, body, _event = app.amqp.create_task_message(
            job_id,
            task,
            args,
            {},
            reply_to=app.thread_oid,
            ignore_result=None,
            argsrepr=plain_repr(args, app.amqp.argsrepr_maxsize),
            kwargsrepr="{}",
        )
        # As Celery's send_task_message does: hooks may add headers (the request id).
        before_task_publish.send(
            sender=task,
            body=body,
            exchange="",
            routing_key=self.queue,
            declare=[],
            headers=headers,
            properties=properties,
            retry_policy=None,
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
        return jsontext.dumps(
            {
                "body": base64.b64encode(encoded).decode("ascii"),
                "content-encoding": content_encoding,
                "content-type": content_type,
                "headers": headers,
                "properties": properties,
            }
        )
