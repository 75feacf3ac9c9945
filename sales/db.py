"""The sales database engine, created once per process (after the fork)."""

from __future__ import annotations

import os
import threading

from sqlalchemy import Engine, create_engine, event

_lock = threading.Lock()
_engines: dict[tuple[int, str], Engine] = {}


def make_engine(url: str) -> Engine:
    """An engine with settings that suit short aggregation queries and bulk imports."""
    if url.startswith("sqlite"):
        # Writers queue behind the one SQLite write lock: the web's upload commits may
        # wait for an import's final transaction (seconds), never fail at once.
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        connect_args={"connect_timeout": 5},
    )


def engine_for(url: str) -> Engine:
    """The engine for this process; a forked child never reuses its parent's."""
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = make_engine(url)
        return engine
