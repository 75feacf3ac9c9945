"""worker/kombu_fixes.py: closing a channel whose connection was already detached (what
Celery's consumer does when the Redis broker went away) must not stop the worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from worker import kombu_fixes


@pytest.fixture
def detached_channel(redis_url: str) -> Iterator[tuple[Connection, object]]:
    """A Redis channel (on a database of the test Redis no worker uses) with an unacked
    delivery, whose connection was closed under it."""
    conn = Connection(redis_url.rsplit("/", 1)[0] + "/8")
    channel = conn.default_channel
    channel.qos._delivered["tag-1"] = object()  # a delivery to restore at close
    transport = conn.transport
    conn._do_close_transport()  # the race: the connection object is detached first
    channel.connection = transport
    yield conn, channel
    kombu_redis.Channel._connparams = kombu_fixes._connparams


def test_without_the_fix_the_close_raises_what_stops_the_worker(detached_channel) -> None:  # type: ignore[no-untyped-def]
    conn, channel = detached_channel
    kombu_redis.Channel._connparams = kombu_fixes._connparams
    with pytest.raises(AttributeError, match="hostname"):
        conn.maybe_close_channel(channel)


def test_with_the_fix_the_close_is_a_connection_error_that_kombu_ignores(detached_channel) -> None:  # type: ignore[no-untyped-def]
    conn, channel = detached_channel
    kombu_fixes.install()
    conn.maybe_close_channel(channel)  # ignored as a connection error: no exception
