"""The import tables and the data version, created once per process and database before use."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, inspect

from sales.schema import ensure_tables

_lock = threading.Lock()
_ready: set[str] = set()


def ready(engine: Engine) -> Engine:
    """`engine`, its import tables created if this process has not yet made sure of them.

    Only beside an existing `sales` table: the sales data is the operator's (or the
    seed's) to create, and a database without it must keep failing reports and imports
    clearly (DataUnavailable), not answer them from an empty table made on the fly.
    """
    key = engine.url.render_as_string(hide_password=False)
    if key not in _ready:
        with _lock:
            if key not in _ready and inspect(engine).has_table("sales"):
                ensure_tables(engine)
                _ready.add(key)
    return engine
