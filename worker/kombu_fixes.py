"""A fix for a kombu race that stops a worker when its Redis broker goes away.

When the broker connection is lost, Celery's consumer closes the connection
(`Consumer.on_connection_error_after_connected` -> `Connection.close`); closing the
default channel restores its unacked messages, which needs a Redis client, whose
parameters kombu reads from `transport.client`. If that connection object was already
detached (`Connection._do_close_transport` sets it to None, e.g. by an earlier close
of the same connection), kombu 5.7 raises AttributeError ("'NoneType' object has no
attribute 'hostname'", kombu issue #582, unfixed upstream). `maybe_close_channel` only
ignores connection errors, so the AttributeError reaches the worker as an
"Unrecoverable error" and the worker shuts down (seen in tests/faults/test_redis_outage.py
under load: the jobs left waited for a worker that was gone).

Here a detached connection is a connection error, which the close ignores as kombu
means it to: the consumer reconnects, and the unacked messages it could not restore stay
in Redis's unacked set, where the visibility-timeout scan gives them back.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis

_connparams = kombu_redis.Channel._connparams  # type: ignore[attr-defined]


def connparams(self: Any, asynchronous: bool = False) -> Any:
    """kombu's own, or a connection error when the connection is already detached."""
    if self.connection.client is None:
        raise redis.ConnectionError("the broker connection was closed")
    return _connparams(self, asynchronous)


def install() -> None:
    """Apply the fix (idempotent)."""
    kombu_redis.Channel._connparams = connparams  # type: ignore[attr-defined]
