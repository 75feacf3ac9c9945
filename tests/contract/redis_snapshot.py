"""What is in a Redis, key by key, to show that a request left nothing behind."""

from __future__ import annotations

import redis


def snapshot(url: str) -> dict[str, tuple[str, int]]:
    """Every key with its type and size (lists: length, so a queued message shows)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        out: dict[str, tuple[str, int]] = {}
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            size = {
                "list": client.llen,
                "hash": client.hlen,
                "set": client.scard,
                "zset": client.zcard,
                "string": client.strlen,
            }.get(kind, lambda _k: 0)(key)
            out[key] = (kind, int(size))
        return out
    finally:
        client.close()


def queued_messages(url: str) -> int:
    """Messages waiting in any list (the broker's queues)."""
    return sum(size for kind, size in snapshot(url).values() if kind == "list")


def backlog_entries(url: str) -> int:
    """Jobs waiting in the clients' backlogs (fair sharing), not yet handed to the broker."""
    return sum(size for key, (_, size) in snapshot(url).items() if ":fair:backlog:" in key)
