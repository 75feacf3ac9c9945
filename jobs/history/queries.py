"""HistoryReader: what the ops API, the dashboard and /metrics read from the history."""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, func, select

from jobs.history.tables import (
    DURATION_BUCKETS,
    TERMINAL,
    job_events,
    job_history,
    queue_depth,
    worker_status,
)
from jobs.states import State

# Plain strings, as the history stores them.
SUCCEEDED, FAILED, CANCELLED = (s.value for s in (State.SUCCEEDED, State.FAILED, State.CANCELLED))
# `kind:type`, the name statistics are grouped under.
LABEL = (job_history.c.kind + ":" + job_history.c.job_type).label("label")
# A worker counts as online while its last heartbeat is younger than this many
# heartbeat intervals (Celery's own expiry window is two).
HEARTBEAT_WINDOW = 3.0


def percentile(sorted_values: list[float], p: float) -> float | None:
    """The p-th percentile (0-100) by linear interpolation; None for no values."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class HistoryReader:
    """Reads of the history tables; thread-safe via the engine."""

    engine: Engine

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
                select(LABEL, job_history.c.state, func.count())
                .where(first_seen >= since)
                .group_by(LABEL, job_history.c.state)
            ).all()
            finished = conn.execute(
                select(LABEL, job_history.c.state, job_history.c.duration)
                .where(job_history.c.finished_at >= since)
                .where(job_history.c.state.in_(TERMINAL))
            ).all()
        by_type: dict[str, dict[str, int]] = defaultdict(dict)
        by_state: dict[str, int] = defaultdict(int)
        for label, state, n in counts:
            by_type[label][state] = n
            by_state[state] += n
        durations: dict[str, list[float]] = defaultdict(list)
        outcomes: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TERMINAL, 0))
        for label, state, duration in finished:
            outcomes[label][state] += 1
            if state == SUCCEEDED and duration is not None:
                durations[label].append(duration)
        types = {}
        for label, out in sorted(outcomes.items()):
            values = sorted(durations[label])
            done = sum(out.values())
            types[label] = {
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
            "types": types,
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

    def totals(
        self,
    ) -> tuple[list[tuple[str, str, str, int]], dict[tuple[str, str], list[int | float]]]:
        """All-time finished counts by (kind, type, outcome), and duration histograms by
        (kind, type).

        The histogram of a type is [bucket counts (cumulative) ..., count, sum].
        """
        buckets = [func.sum(_case_le(b)).label(f"le_{i}") for i, b in enumerate(DURATION_BUCKETS)]
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(
                    job_history.c.kind, job_history.c.job_type, job_history.c.state, func.count()
                )
                .where(job_history.c.state.in_(TERMINAL))
                .group_by(job_history.c.kind, job_history.c.job_type, job_history.c.state)
            ).all()
            hist = conn.execute(
                select(
                    job_history.c.kind,
                    job_history.c.job_type,
                    *buckets,
                    func.count(),
                    func.sum(job_history.c.duration),
                )
                .where(job_history.c.state.in_((SUCCEEDED, FAILED)))
                .where(job_history.c.duration.is_not(None))
                .group_by(job_history.c.kind, job_history.c.job_type)
            ).all()
        histograms = {(r[0], r[1]): [v or 0 for v in r[2:]] for r in hist}
        return [(k, t, s, n) for k, t, s, n in counts], histograms


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
        "kind": row["kind"],
        "type": row["job_type"],
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
