"""Broker queue depth, read the same way by the web (metrics, ops API) and the monitor."""

from __future__ import annotations

from typing import Any

from celery import Celery


def queue_depth(celery: Celery, queue: str, timeout: int = 2) -> int:
    """Messages waiting in `queue` (all priority levels); raises when the broker is down."""
    with celery.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        channel: Any = conn.default_channel
        try:
            ok = channel.queue_declare(queue=queue, passive=True)
        except Exception as exc:
            # Redis keeps no empty list (and an AMQP queue may not exist yet): empty.
            if "NOT_FOUND" in str(exc):
                return 0
            raise
        return int(ok.message_count)
