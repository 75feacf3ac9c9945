"""Builders and spies the unit tests share (their fixtures are in conftest.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.client import PubSub

from jobs.store import JobRecord, JobSnapshot, JobStore, Progress
from jobs.store.results import ResultShare

RETENTION, TOMBSTONE = 3600, 7200
KEY_PREFIX = "test"

# What the `submit` and `subscribe` fixtures return.
Submit = Callable[..., JobRecord]
Subscribe = Callable[[str], PubSub]


def record(
    job_id: str = "job-1",
    *,
    kind: str = "report",
    type: str = "yearly-sales",
    parameters: dict[str, Any] | None = None,
    owner: str = "alice",
    created: float = 1000.0,
    **fields: Any,
) -> JobRecord:
    """A job record as the web creates it (any other field may be given by name)."""
    return JobRecord(
        id=job_id,
        kind=kind,
        type=type,
        parameters={"year": "2023"} if parameters is None else parameters,
        owner=owner,
        created_at=created,
        **fields,
    )


def snapshot(
    rec: JobRecord,
    meta: dict[str, Any] | None = None,
    *,
    mean: float | None = None,
    rank: int | None = None,
    slots: int = 0,
    now: float,
) -> JobSnapshot:
    """A job as JobStore.read() returns it, read at `now`."""
    return JobSnapshot(rec, meta, rank, mean, slots, read_at=now)


def progress(current: int, total: int | None) -> Progress:
    """A step as a kind's computation reports it (percent derived from the counts)."""
    return Progress(current, total, current * 100 // total if total else 0)


def command_name(packed: Any) -> str:
    """The name of a command as redis-py packs it for the socket (RESP array)."""
    raw = b"".join(packed) if isinstance(packed, list | tuple) else bytes(packed)
    # *<n>\r\n$<len>\r\n<NAME>\r\n...
    return raw.split(b"\r\n")[2].decode().upper()


class CommandSpy:
    """Records every write of a Redis client to its socket: one write is one round trip."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = client
        self.monkeypatch = monkeypatch

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The names of the commands sent inside the block, one entry per socket write."""
        sent: list[str] = []
        connection_class = self.client.connection_pool.connection_class
        original = connection_class.send_packed_command

        def spy(conn: Any, command: Any, *args: Any, **kwargs: Any) -> None:
            sent.append(command_name(command))
            original(conn, command, *args, **kwargs)

        with self.monkeypatch.context() as patch:
            patch.setattr(connection_class, "send_packed_command", spy)
            yield sent


# -- status documents (tests/unit/test_status*.py) ---------------------------------

JOB_ID = "3f0c2a52-7d8e-4c1b-9a6f-0e1d2c3b4a59"
CREATED = 1_800_000_000.0  # 2027-01-15T08:00:00Z
SECONDS = re.compile(r"^[1-9][0-9]* seconds$")
SUCCESS = {"status": "SUCCESS", "result": {"months": []}, "date_done": "2027-01-15T08:00:30"}


def report(
    meta: dict[str, Any] | None = None,
    *,
    started: float | None = None,
    finished: float | None = None,
    error: dict[str, Any] | None = None,
    steps: Progress | None = None,
    mean: float | None = None,
    rank: int | None = None,
    slots: int = 0,
    now: float = CREATED + 10,
) -> JobSnapshot:
    """A yearly-sales job as JobStore.read() would return it."""
    rec = record(
        JOB_ID,
        owner="public",
        created=CREATED,
        started_at=started,
        finished_at=finished,
        error=error,
        progress=steps,
    )
    return snapshot(rec, meta, mean=mean, rank=rank, slots=slots, now=now)


def failure_meta(exc_type: str, message: str) -> dict[str, Any]:
    """What Celery's Redis backend stores for a failed task (JSON serializer)."""
    return {
        "status": "FAILURE",
        "result": {"exc_type": exc_type, "exc_message": [message], "exc_module": "billiard"},
        "traceback": 'Traceback (most recent call last):\n  File "/srv/worker/tasks.py"...',
        "date_done": "2027-01-15T08:00:30.123456+00:00",
    }


# -- results kept for reuse (tests/unit/test_store_results*.py) -------------------

KEEP = 600
DIGEST = "d" * 64
RESULT = {"reportType": "yearly-sales", "totals": {"revenue": 1234567.89, "orders": 3}}
DONE = Progress(4, 4, 100)


def created(store: JobStore, job_id: str, owner: str = "alice", **fields: object) -> JobRecord:
    """A job the web just created (provisional), as submit.enqueue has it before reuse."""
    rec = record(job_id, owner=owner, created=time.time(), **fields)  # type: ignore[arg-type]
    store.create(rec)
    return rec


def lead(store: JobStore, shares: ResultShare, job_id: str = "lead") -> JobRecord:
    """A committed job that leads the computation of DIGEST."""
    rec = created(store, job_id)
    assert shares.attach(rec, DIGEST, fresh=False).outcome == "lead"
    store.commit(rec)
    return rec


def spy_answers(monkeypatch: pytest.MonkeyPatch, fast_path: type, method: str) -> list[str]:
    """Who answered each request a fast path took up: "fast", or "flask" when its
    `method` (the one that answers, or gives None) handed the request on."""
    seen: list[str] = []
    original = getattr(fast_path, method)

    def spy(self: Any, *args: Any) -> Any:
        found = original(self, *args)
        seen.append("fast" if found is not None else "flask")
        return found

    monkeypatch.setattr(fast_path, method, spy)
    return seen
