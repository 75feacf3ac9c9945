"""JobHistory: the job_history / job_events / worker_status tables and their queries."""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)

from jobs.catalogue import REPORT_TYPES
from jobs.states import CANCELLED, FAILED, QUEUED, RETRYING, RUNNING, SUCCEEDED

metadata = MetaData()

job_history = Table(
    "job_history",
    metadata,
    Column("id", String(64), primary_key=True),  # Celery task id == job id
    Column("task_name", String(128), nullable=False, default=""),
    Column("report_type", String(64), nullable=False, default=""),
    Column("state", String(16), nullable=False, default=QUEUED),
    Column("worker", String(255)),
    Column("retries", Integer, nullable=False, default=0),
    Column("sent_at", Float),
    Column("received_at", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("duration", Float),
    Column("error", Text),  # JSON problem details (or Celery's exception text)
    Column("updated_at", Float, nullable=False),
    Index("ix_job_history_sent_at", "sent_at"),
    Index("ix_job_history_finished_at", "finished_at"),
    Index("ix_job_history_state", "state"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("hostname", String(255)),
    Column("detail", Text),
    Index("ix_job_events_job_id", "job_id"),
)

queue_depth = Table(
    "queue_depth",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("queue", String(128), nullable=False),
    Column("depth", Integer, nullable=False),
    Index("ix_queue_depth_at", "at"),
)

worker_status = Table(
    "worker_status",
    metadata,
    Column("hostname", String(255), primary_key=True),
    Column("online", Integer, nullable=False, default=1),
    Column("last_heartbeat", Float, nullable=False),
    Column("freq", Float, nullable=False, default=2.0),
    Column("active", Integer, nullable=False, default=0),
    Column("processed", Integer, nullable=False, default=0),
    Column("loadavg", String(64)),
    Column("software", String(64)),
)

TASK_TO_TYPE = {rt.task_name: name for name, rt in REPORT_TYPES.items()}
# Which state each task event moves a job to; None leaves the state alone.
EVENT_STATE: dict[str, str | None] = {
    "task-sent": QUEUED,
    "task-received": QUEUED,
    "task-started": RUNNING,
    "task-retried": RETRYING,
    "task-succeeded": SUCCEEDED,
    "task-failed": FAILED,
    "task-rejected": FAILED,
    "task-revoked": CANCELLED,
}
TERMINAL = {SUCCEEDED, FAILED, CANCELLED}
# A worker counts as online while its last heartbeat is younger than this many
# heartbeat intervals (Celery's own expiry window is two).
HEARTBEAT_WINDOW = 3.0
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def make_engine(url: str) -> Engine:
    """An engine for the history database (SQLite in WAL mode so readers never block)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args={"connect_timeout": 5}
    )


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation; None for no values."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class JobHistory:
    """Writes (monitor) and reads (web) of the history tables; thread-safe via the engine."""

    engine: Engine

    @classmethod
    def from_url(cls, url: str) -> JobHistory:
        """Connect lazily to the history database at `url`."""
        return cls(make_engine(url))

    def create_tables(self) -> None:
        """Create the tables if they do not exist (idempotent)."""
        metadata.create_all(self.engine, checkfirst=True)

    # -- writes (monitor) -------------------------------------------------
    def record_task_event(self, ev: dict[str, Any]) -> None:
        """Apply one Celery task event to the job's history row and log it."""
        kind, job_id = ev["type"], ev.get("uuid")
        if not job_id:
            return
        at = float(ev.get("timestamp") or time.time())
        changes: dict[str, Any] = {"updated_at": time.time()}
        name = ev.get("name")
        if name:
            changes["task_name"] = name
            changes["report_type"] = TASK_TO_TYPE.get(name, name)
        state = EVENT_STATE.get(kind)
        if kind == "task-sent":
            changes["sent_at"] = at
        elif kind == "task-received":
            changes["received_at"] = at
        elif kind == "task-started":
            changes["started_at"] = at
        elif kind == "task-retried":
            changes["error"] = json.dumps({"detail": str(ev.get("exception") or "")})
        elif kind == "task-succeeded" and ev.get("runtime") is not None:
            changes["duration"] = float(ev["runtime"])
        elif kind == "task-failed":
            changes["error"] = json.dumps({"detail": str(ev.get("exception") or "")})
        if ev.get("hostname") and kind != "task-sent":
            changes["worker"] = ev["hostname"]
        if ev.get("retries") is not None:
            changes["retries"] = int(ev["retries"])
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
                # Events may arrive out of order: a late task-received must not move a
                # finished job back to queued.
                current = row.state if row else None
                if current not in TERMINAL or state in TERMINAL:
                    changes["state"] = state
            if state in TERMINAL:
                changes["finished_at"] = at
                started = changes.get("started_at") or (row.started_at if row else None)
                if "duration" not in changes and started is not None:
                    changes["duration"] = max(0.0, at - started)
            if row is None:
                changes.setdefault("state", state or QUEUED)
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

    # -- reads (web) ------------------------------------------------------
    def queue_history(self, since: float) -> list[dict[str, Any]]:
        """Queue-depth samples since `since`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(queue_depth.c.at, queue_depth.c.queue, queue_depth.c.depth)
                .where(queue_depth.c.at >= since)
                .order_by(queue_depth.c.at)
            ).all()
        return [{"at": r.at, "queue": r.queue, "depth": r.depth} for r in rows]

    def workers(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every worker seen, with `online` from its heartbeat age."""
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            rows = conn.execute(select(worker_status).order_by(worker_status.c.hostname)).all()
        out = []
        for r in rows:
            age = now - r.last_heartbeat
            out.append(
                {
                    "hostname": r.hostname,
                    "online": bool(r.online) and age < HEARTBEAT_WINDOW * r.freq + 1.0,
                    "lastHeartbeat": r.last_heartbeat,
                    "heartbeatAge": round(age, 3),
                    "active": r.active,
                    "processed": r.processed,
                    "loadavg": json.loads(r.loadavg) if r.loadavg else None,
                    "software": r.software,
                }
            )
        return out

    def job(self, job_id: str) -> dict[str, Any] | None:
        """One job's history row and its events, oldest first."""
        with self.engine.connect() as conn:
            row = conn.execute(select(job_history).where(job_history.c.id == job_id)).first()
            if row is None:
                return None
            events = conn.execute(
                select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.seq)
            ).all()
        doc = row_to_doc(row._mapping)
        doc["events"] = [
            {
                "type": e.type,
                "at": e.at,
                "hostname": e.hostname,
                **({"detail": json.loads(e.detail)} if e.detail else {}),
            }
            for e in events
        ]
        return doc

    def recent(self, limit: int = 20, state: str | None = None) -> list[dict[str, Any]]:
        """The newest jobs (by first sight), optionally only those in one state."""
        first_seen = func.coalesce(
            job_history.c.sent_at, job_history.c.received_at, job_history.c.updated_at
        )
        query = select(job_history).order_by(first_seen.desc()).limit(limit)
        if state == FAILED:
            query = (
                select(job_history)
                .where(job_history.c.state == FAILED)
                .order_by(job_history.c.finished_at.desc())
                .limit(limit)
            )
        elif state:
            query = query.where(job_history.c.state == state)
        with self.engine.connect() as conn:
            return [row_to_doc(r._mapping) for r in conn.execute(query)]

    def summary(self, since: float) -> dict[str, Any]:
        """Counts by type and state, duration percentiles and failure rate, since `since`."""
        first_seen = func.coalesce(job_history.c.sent_at, job_history.c.received_at)
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(job_history.c.report_type, job_history.c.state, func.count())
                .where(first_seen >= since)
                .group_by(job_history.c.report_type, job_history.c.state)
            ).all()
            finished = conn.execute(
                select(job_history.c.report_type, job_history.c.state, job_history.c.duration)
                .where(job_history.c.finished_at >= since)
                .where(job_history.c.state.in_(TERMINAL))
            ).all()
        by_type: dict[str, dict[str, int]] = defaultdict(dict)
        by_state: dict[str, int] = defaultdict(int)
        for report_type, state, n in counts:
            by_type[report_type][state] = n
            by_state[state] += n
        durations: dict[str, list[float]] = defaultdict(list)
        outcomes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TERMINAL, 0))
        for report_type, state, duration in finished:
            outcomes[report_type][state] += 1
            if state == SUCCEEDED and duration is not None:
                durations[report_type].append(duration)
        types = {}
        for report_type, out in sorted(outcomes.items()):
            values = sorted(durations[report_type])
            done = sum(out.values())
            types[report_type] = {
                "finished": done,
                "succeeded": out[SUCCEEDED],
                "failed": out[FAILED],
                "cancelled": out[CANCELLED],
                "failureRate": round(out[FAILED] / done, 4) if done else None,
                "duration": {
                    "count": len(values),
                    "mean": round(sum(values) / len(values), 4) if values else None,
                    **{f"p{p}": _round(percentile(values, p)) for p in (50, 90, 95, 99)},
                    "max": _round(values[-1] if values else None),
                },
            }
        return {
            "since": since,
            "byState": dict(by_state),
            "byType": {k: dict(v) for k, v in sorted(by_type.items())},
            "reportTypes": types,
        }

    def throughput(self, since: float, bucket_seconds: int = 60) -> list[dict[str, Any]]:
        """Finished jobs per time bucket since `since`: succeeded, failed, cancelled."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(job_history.c.finished_at, job_history.c.state)
                .where(job_history.c.finished_at >= since)
                .where(job_history.c.state.in_(TERMINAL))
            ).all()
        start = math.floor(since / bucket_seconds) * bucket_seconds
        n = max(1, math.ceil((time.time() - start) / bucket_seconds))
        buckets = [
            {"start": start + i * bucket_seconds, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0}
            for i in range(n)
        ]
        for finished_at, state in rows:
            i = min(n - 1, int((finished_at - start) // bucket_seconds))
            buckets[i][state] += 1
        return buckets

    def totals(self) -> tuple[list[tuple[str, str, int]], dict[str, list[int | float]]]:
        """All-time finished counts by (type, outcome), and duration histograms by type.

        The histogram of a type is [bucket counts (cumulative) ..., count, sum].
        """
        buckets = [func.sum(_case_le(b)).label(f"le_{i}") for i, b in enumerate(DURATION_BUCKETS)]
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(job_history.c.report_type, job_history.c.state, func.count())
                .where(job_history.c.state.in_(TERMINAL))
                .group_by(job_history.c.report_type, job_history.c.state)
            ).all()
            hist = conn.execute(
                select(
                    job_history.c.report_type,
                    *buckets,
                    func.count(),
                    func.sum(job_history.c.duration),
                )
                .where(job_history.c.state.in_((SUCCEEDED, FAILED)))
                .where(job_history.c.duration.is_not(None))
                .group_by(job_history.c.report_type)
            ).all()
        histograms = {r[0]: [v or 0 for v in r[1:]] for r in hist}
        return [(t, s, n) for t, s, n in counts], histograms


def _case_le(bound: float) -> Any:
    return case((job_history.c.duration <= bound, 1), else_=0)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def row_to_doc(row: Any) -> dict[str, Any]:
    """A job_history row as the ops API's JSON object."""
    error = row["error"]
    return {
        "id": row["id"],
        "taskName": row["task_name"],
        "reportType": row["report_type"],
        "state": row["state"],
        "worker": row["worker"],
        "retries": row["retries"],
        "sentAt": row["sent_at"],
        "receivedAt": row["received_at"],
        "startedAt": row["started_at"],
        "finishedAt": row["finished_at"],
        "duration": row["duration"],
        "error": json.loads(error) if error else None,
    }
