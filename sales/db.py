"""The sales database engine, created once per process (after the fork)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

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
            _use_wal(dbapi_conn)

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        connect_args={"connect_timeout": 5},
    )


def _use_wal(dbapi_conn: sqlite3.Connection, wait: float = 30.0) -> None:
    # WAL is a property of the database file, set once by whichever process gets there
    # first. Switching modes skips SQLite's busy handler, so processes that open a new
    # database at the same moment get "database is locked" at once: read the mode
    # first (free when it is set) and retry the switch for as long as a write may wait.
    deadline = time.monotonic() + wait
    while True:
        cur = dbapi_conn.cursor()
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
        finally:
            cur.close()


def engine_for(url: str) -> Engine:
    """The engine for this process; a forked child never reuses its parent's."""
    key = (os.getpid(), url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = make_engine(url)
        return engine
