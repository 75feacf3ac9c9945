"""The job store: every Redis read and write of the job core, one module per purpose.

`jobs.py` (records, the web side), `runs.py` (the worker side), `index.py` (listing),
`idempotency.py`, `throttle.py`, `waiting.py` (pub/sub), `workers.py` (pool sizes);
key names in `keys.py`, Lua scripts in `scripts/`.
"""

from jobs.store.connection import connect, reachable
from jobs.store.jobs import PROVISIONAL_SECONDS, JobStore
from jobs.store.keys import Keys
from jobs.store.record import JobRecord, JobSnapshot, Progress

__all__ = [
    "PROVISIONAL_SECONDS",
    "JobRecord",
    "JobSnapshot",
    "JobStore",
    "Keys",
    "Progress",
    "connect",
    "reachable",
]
