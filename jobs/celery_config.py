"""Celery settings shared by the producer (web) and the consumers (workers).

Each reliability setting is here because of a known Celery failure; see the README's
"Guarantees" section.
"""

from __future__ import annotations

from typing import Any

from jobs.settings import Settings

DEFAULT_QUEUE = "jobs"
# Webhook deliveries have a queue (and worker process) of their own: a slow receiver
# never takes a job's pool slot. A worker started without --queues consumes only "jobs".
WEBHOOK_QUEUE = "webhooks"
WEBHOOK_TASK = "webhooks.deliver"
AMQP_SCHEMES = {"amqp", "amqps", "pyamqp"}
# AMQP heartbeats (seconds): RabbitMQ closes a silent worker's connection, and requeues
# its deliveries, after about two missed intervals.
BROKER_HEARTBEAT = 10


def is_amqp(url: str) -> bool:
    """True when the broker URL names RabbitMQ (AMQP 0-9-1) rather than Redis."""
    return url.partition("://")[0].lower() in AMQP_SCHEMES


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration for one deployment."""
    timeout = settings.redis_timeout
    redis_options = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "socket_keepalive": True,
        "health_check_interval": 10,
        "retry_on_timeout": True,
    }
    # RabbitMQ: the publish returns once the broker has the message (publisher confirms),
    # so a 202 means the job is queued. Redis ignores the option.
    amqp_options = {"confirm_publish": True} if is_amqp(settings.broker_url) else {}
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend_url,
        # JSON only: a pickle message could run code in the worker.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Ack after the task ran, give the job back when the worker process dies,
        # and take one message at a time so a crash loses no prefetched jobs.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        # Redelivery of an unacked message happens after the visibility timeout;
        # it must exceed the longest run (the hard limit) or a running job is
        # handed to a second worker.
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            # kombu scans for such jobs only every interval x throttle seconds (100 s
            # by default); scan every interval instead, so redelivery is bounded by
            # visibility timeout + interval.
            "unacked_restore_interval": settings.restore_interval,
            "unacked_restore_throttle": 1,
            # A worker killed while holding the scan's lock blocks scans this long.
            "unacked_mutex_expire": 60,
            **redis_options,
            **amqp_options,
        },
        "result_backend_transport_options": {**redis_options},
        "redis_socket_timeout": timeout,
        "redis_socket_connect_timeout": timeout,
        "redis_socket_keepalive": True,
        "redis_backend_health_check_interval": 10,
        "result_expires": settings.retention_seconds,
        # Storing a result survives a Redis restart: retry with backoff (~1 minute).
        "result_backend_always_retry": True,
        "result_backend_max_retries": 12,
        "result_backend_max_sleep_between_retries_ms": 5000,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": timeout,
        "broker_heartbeat": BROKER_HEARTBEAT,
        "broker_pool_limit": 10,
        # A publish that cannot reach the broker fails quickly so the API can
        # answer 503 instead of hanging.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0.1,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": {WEBHOOK_TASK: {"queue": WEBHOOK_QUEUE}},
        # RabbitMQ: a durable classic queue, not a quorum queue: retries use countdowns,
        # which Celery delivers on quorum queues only through topic exchanges (ours is
        # direct), and quorum queues disable global QoS, fixing prefetch at start (the ops
        # API's pool grow/shrink would no longer change it). See README "Brokers".
        "task_default_queue_type": "classic",
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        # Recycle pool children so a leak in a library (or a huge report) cannot grow
        # a worker without bound; a child over the memory cap is replaced after its task.
        "worker_max_tasks_per_child": settings.worker_max_tasks_per_child or None,
        "worker_max_memory_per_child": settings.worker_max_memory_per_child or None,
        # With REMAP_SIGTERM=SIGQUIT (the Procfile), SIGTERM waits this long for running
        # jobs, then stops them and hands their messages back to the queue at once.
        "worker_soft_shutdown_timeout": settings.worker_shutdown_grace,
        # RabbitMQ requeues a closed connection's deliveries at once, so a job still
        # running here would also run on another worker: stop it (it is not acked, and
        # comes back). Redis keeps the delivery for the visibility timeout: run on.
        "worker_cancel_long_running_tasks_on_connection_loss": is_amqp(settings.broker_url),
        "task_ignore_result": False,
        "result_extended": False,
    }
