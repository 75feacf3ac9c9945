"""HistoryRecorder: applies Celery task and worker events to the history tables (monitor)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from jobs.history.tables import TERMINAL, job_events, job_history, queue_depth, worker_status
from jobs.states import State

# Which state each task event moves a job to; None leaves the state alone.
EVENT_STATE: dict[str, State | None] = {
    "task-sent": State.QUEUED,
    "task-received": State.QUEUED,
    "task-started": State.RUNNING,
    "task-retried": State.RETRYING,
    "task-succeeded": State.SUCCEEDED,
    "task-failed": State.FAILED,
    "task-rejected": State.FAILED,
    "task-revoked": State.CANCELLED,
}
# The timestamp column each event sets.
EVENT_TIME = {"task-sent": "sent_at", "task-received": "received_at", "task-started": "started_at"}


@dataclass
class HistoryRecorder:
    """Writes of the history tables; thread-safe via the engine."""

    engine: Engine
    # Celery task name -> (kind, job type), from the kinds registry.
    task_types: dict[str, tuple[str, str]] = field(default_factory=dict)

    def record_task_event(self, ev: dict[str, Any]) -> None:
        """Apply one Celery task event to the job's history row and log it."""
        kind, job_id = ev["type"], ev.get("uuid")
        if not job_id:
            return
        at = float(ev.get("timestamp") or time.time())
        changes = self._changes(ev, at)
        state = EVENT_STATE.get(kind)
        detail = {
            k: ev[k]
            for k in ("exception", "runtime", "retries", "terminated", "expired", "signum")
            if ev.get(k) not in (None, "")
        }
        with self.engine.begin() as conn:
            row = conn.execute(
                select(job_history.c.state, job_history.c.started_at).where(
                    job_history.c.id == job_id
                )
            ).first()
            if state is not None:
                # Events come from several processes and may arrive out of order: a late
                # task-received must not move a finished job back to queued, nor a late
                # task-sent or task-received (the web's, or the receiving worker's,
                # arriving after the pool process's task-started) a running one. A
                # task-received after the run started is a redelivery: queued again.
                current = row.state if row else None
                # (task-sent is stamped when the web's publish returns, which on
                # RabbitMQ waits for the broker's confirm: it can be later than the
                # task-started it precedes, so it never moves an existing row.)
                stale = row is not None and (
                    kind == "task-sent"
                    or (
                        state is State.QUEUED
                        and row.started_at is not None
                        and at <= row.started_at
                    )
                )
                if not stale and (current not in TERMINAL or state in TERMINAL):
                    changes["state"] = state.value
            if state is not None and state.terminal:
                changes["finished_at"] = at
                started = changes.get("started_at") or (row.started_at if row else None)
                if "duration" not in changes and started is not None:
                    changes["duration"] = max(0.0, at - started)
            if row is None:
                changes.setdefault("state", (state or State.QUEUED).value)
                conn.execute(insert(job_history).values(id=job_id, **changes))
            else:
                conn.execute(update(job_history).where(job_history.c.id == job_id).values(changes))
            conn.execute(
                insert(job_events).values(
                    job_id=job_id,
                    type=kind,
                    at=at,
                    hostname=ev.get("hostname"),
                    detail=json.dumps(detail) if detail else None,
                )
            )

    def _changes(self, ev: dict[str, Any], at: float) -> dict[str, Any]:
        kind = ev["type"]
        changes: dict[str, Any] = {"updated_at": time.time()}
        name = ev.get("name")
        if name:
            job_kind, job_type = self.task_types.get(name, ("", name))
            changes.update(task_name=name, kind=job_kind, job_type=job_type)
        if kind in EVENT_TIME:
            changes[EVENT_TIME[kind]] = at
        elif kind in ("task-retried", "task-failed"):
            changes["error"] = json.dumps({"detail": str(ev.get("exception") or "")})
        elif kind == "task-succeeded" and ev.get("runtime") is not None:
            changes["duration"] = float(ev["runtime"])
        if ev.get("hostname") and kind != "task-sent":
            changes["worker"] = ev["hostname"]
        if ev.get("retries") is not None:
            changes["retries"] = int(ev["retries"])
        return changes

    def set_error(self, job_id: str, problem: dict[str, Any]) -> None:
        """Replace a failed job's error with the problem details its client saw."""
        with self.engine.begin() as conn:
            conn.execute(
                update(job_history)
                .where(job_history.c.id == job_id)
                .values(error=json.dumps(problem))
            )

    def record_worker_event(self, ev: dict[str, Any]) -> None:
        """Apply a worker-online/-heartbeat/-offline event to the worker's row."""
        hostname = ev.get("hostname")
        if not hostname:
            return
        values: dict[str, Any] = {
            "online": 0 if ev["type"] == "worker-offline" else 1,
            "last_heartbeat": float(ev.get("timestamp") or time.time()),
            "freq": float(ev.get("freq") or 2.0),
            "active": int(ev.get("active") or 0),
            "processed": int(ev.get("processed") or 0),
            "loadavg": json.dumps(ev.get("loadavg")) if ev.get("loadavg") else None,
            "software": f"{ev.get('sw_ident', '')} {ev.get('sw_ver', '')}".strip() or None,
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(worker_status).where(worker_status.c.hostname == hostname).values(values)
            )
            if not done.rowcount:
                conn.execute(insert(worker_status).values(hostname=hostname, **values))

    def record_queue_depth(self, queue: str, depth: int, at: float, keep_seconds: float) -> None:
        """Store one queue-depth sample and drop samples older than `keep_seconds`."""
        with self.engine.begin() as conn:
            conn.execute(insert(queue_depth).values(at=at, queue=queue, depth=depth))
            conn.execute(delete(queue_depth).where(queue_depth.c.at < at - keep_seconds))
