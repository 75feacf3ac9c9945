"""A job's record as stored in Redis, and a snapshot of everything known about a job."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from jobs import jsontext

PENDING = "pending"  # field of a record whose enqueue is not yet confirmed


def _dumps(value: Any) -> str:
    return jsontext.dumps(value, sort_keys=True)


@dataclass
class Progress:
    """How far a running job has got, in its kind's unit (steps, rows)."""

    current: int = 0
    total: int | None = None
    percent: int = 0
    # (current, wall-clock time) when the run recorded its first step: the rate since
    # then leaves out a slow start (loading, a busy worker) that the rate since the job
    # started would spread over the steps still to come.
    mark: tuple[int, float] | None = field(default=None, compare=False)

    def to_json(self) -> str:
        """Serialised for the record."""
        data: dict[str, Any] = {"current": self.current, "total": self.total}
        data["percent"] = self.percent
        if self.mark is not None:
            data["mark"] = list(self.mark)
        return _dumps(data)

    @classmethod
    def from_json(cls, raw: str | None) -> Progress | None:
        """Parse what to_json() wrote (None when nothing was recorded)."""
        if not raw:
            return None
        data = json.loads(raw)
        mark = data.get("mark")
        return cls(
            int(data["current"]),
            data.get("total"),
            int(data.get("percent", 0)),
            (int(mark[0]), float(mark[1])) if mark else None,
        )


@dataclass
class JobRecord:
    """What we know about a job apart from Celery's result."""

    id: str
    kind: str
    type: str
    parameters: dict[str, Any]
    owner: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    worker: str | None = None
    attempts: int = 0
    deadline: float | None = None
    progress: Progress | None = None
    cached: bool = False  # answered from a result computed for another job
    computed_at: float | None = None  # when that result was computed
    follows: str | None = None  # the job whose running computation this one waits for
    reuse: str | None = None  # digest its result is kept under for reuse (a leader)
    # {"url": ..., "events": [...]} when the client asked for webhooks (jobs/webhooks)
    webhook: dict[str, Any] | None = None
    seq: int = 0  # bumped by every change the store's scripts announce (event ids)

    @property
    def label(self) -> str:
        """`kind:type`, the name run times and statistics are kept under."""
        return f"{self.kind}:{self.type}"

    def to_hash(self) -> dict[str, str]:
        """Flatten for HSET (only the fields that are set)."""
        out = {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "parameters": _dumps(self.parameters),
            "owner": self.owner,
            "createdAt": repr(self.created_at),
            "attempts": str(self.attempts),
        }
        optional = {
            "startedAt": None if self.started_at is None else repr(self.started_at),
            "finishedAt": None if self.finished_at is None else repr(self.finished_at),
            "error": None if self.error is None else json.dumps(self.error),
            "cancel": "1" if self.cancel_requested else None,
            "worker": self.worker or None,
            "deadline": None if self.deadline is None else repr(self.deadline),
            "progress": None if self.progress is None else self.progress.to_json(),
            "cached": "1" if self.cached else None,
            "computedAt": None if self.computed_at is None else repr(self.computed_at),
            "follows": self.follows or None,
            "reuse": self.reuse or None,
            "webhook": None if self.webhook is None else _dumps(self.webhook),
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobRecord:
        """Rebuild from HGETALL output."""

        def num(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        return cls(
            id=h["id"],
            # Records written before job kinds were all reports, typed by `reportType`.
            kind=h.get("kind") or "report",
            type=h.get("type") or h.get("reportType", ""),
            parameters=json.loads(h.get("parameters") or "{}"),
            owner=h.get("owner", ""),
            created_at=float(h["createdAt"]),
            started_at=num("startedAt"),
            finished_at=num("finishedAt"),
            error=json.loads(h["error"]) if h.get("error") else None,
            cancel_requested=h.get("cancel") == "1",
            worker=h.get("worker") or None,
            attempts=int(h.get("attempts") or 0),
            deadline=num("deadline"),
            progress=Progress.from_json(h.get("progress")),
            cached=h.get("cached") == "1",
            computed_at=num("computedAt"),
            follows=h.get("follows") or None,
            reuse=h.get("reuse") or None,
            webhook=json.loads(h["webhook"]) if h.get("webhook") else None,
            seq=int(h.get("seq") or 0),
        )


@dataclass
class JobSnapshot:
    """A job's record and Celery result as read together, plus what estimates need."""

    record: JobRecord
    celery_meta: dict[str, Any] | None
    queue_rank: int | None
    mean_duration: float | None
    worker_slots: int
    read_at: float = field(default_factory=time.time)

    @property
    def celery_state(self) -> str | None:
        """Celery's state, or None when Celery has written nothing yet."""
        return self.celery_meta.get("status") if self.celery_meta else None

    @property
    def result(self) -> Any:
        """What the job's task returned (once it succeeded), else None."""
        meta = self.celery_meta or {}
        return meta.get("result") if meta.get("status") == "SUCCESS" else None
