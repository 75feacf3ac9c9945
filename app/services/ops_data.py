"""What the ops API, the dashboard and /metrics read: history, queues, workers, progress."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

from app.services.backend import backend
from jobs.celery_config import DEFAULT_QUEUE
from jobs.errors import StoreUnavailable
from jobs.history.queries import HistoryReader
from jobs.queues import queue_depth
from jobs.states import UNFINISHED_STATES, State
from jobs.store.record import Progress

log = logging.getLogger(__name__)

INSPECT_CACHE_SECONDS = 2.0
_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


def history() -> HistoryReader:
    """The monitor's job history (its tables created if the monitor has not yet)."""
    return backend().history


def _cached(key: str, compute: Any) -> Any:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < INSPECT_CACHE_SECONDS:
            return hit[1]
    value = compute()
    with _cache_lock:
        _cache[key] = (time.monotonic(), value)
    return value


def queue_depths() -> dict[str, int | None]:
    """Messages waiting per queue, as the broker counts them (None if unreachable)."""

    def compute() -> dict[str, int | None]:
        try:
            return {DEFAULT_QUEUE: queue_depth(backend().celery, DEFAULT_QUEUE)}
        except Exception as exc:  # noqa: BLE001 - transport errors differ per broker
            log.warning("could not read the queue depth: %s", exc)
            return {DEFAULT_QUEUE: None}

    return dict(_cached("queues", compute))


def clients() -> list[dict[str, Any]] | None:
    """Per client: jobs queued (in its backlog or handed to the broker, not started) and
    running, busiest first; None when Redis cannot be read (fair sharing keeps these)."""

    def compute() -> list[dict[str, Any]] | None:
        try:
            counts = backend().fair.counts()
        except StoreUnavailable as exc:
            log.warning("could not read the per-client counts: %s", exc)
            return None
        rows = [{"client": c, **n} for c, n in counts.items()]
        return sorted(rows, key=lambda r: (-r["queued"] - r["running"], r["client"]))

    return _cached("clients", compute)


def webhooks() -> dict[str, Any] | None:
    """Webhook deliveries: pending, attempts by outcome, endpoints whose last attempt
    failed (worst first); None when Redis cannot be read."""
    store = backend().deliveries
    try:
        failing = [{"url": url, **streak} for url, streak in store.failing().items()]
        failing.sort(key=lambda e: (-e.get("failures", 0), e["url"]))
        return {"pending": store.pending(), "outcomes": store.outcomes(), "failing": failing}
    except StoreUnavailable as exc:
        log.warning("could not read the webhook deliveries: %s", exc)
        return None


def inspect_stats() -> dict[str, dict[str, Any]]:
    """Each live worker's pool size and processed count (celery inspect stats, cached)."""

    def compute() -> dict[str, dict[str, Any]]:
        # Celery waits the whole timeout for replies unless it knows how many to expect:
        # the workers the monitor saw alive lately.
        try:
            expected = sum(1 for w in history().workers() if w["online"]) or None
        except SQLAlchemyError:
            expected = None
        try:
            inspect = backend().celery.control.inspect(timeout=1.0, limit=expected)
            replies = inspect.stats() or {}
        except Exception as exc:  # noqa: BLE001 - a broker outage means "no replies"
            log.warning("celery inspect failed: %s", exc)
            return {}
        out = {}
        for host, stats in replies.items():
            pool = stats.get("pool") or {}
            procs = pool.get("processes")
            out[host] = {
                "poolSize": len(procs) if isinstance(procs, list) else pool.get("max-concurrency"),
                "maxConcurrency": pool.get("max-concurrency"),
                "processedByTask": stats.get("total") or {},
                "pid": stats.get("pid"),
                "uptime": stats.get("uptime"),
            }
        return out

    return dict(_cached("inspect", compute))


def workers_online() -> int | None:
    """How many workers answered the last inspect (None when the broker is unreachable)."""
    stats = inspect_stats()
    return len(stats)


def workers() -> list[dict[str, Any]]:
    """Workers from heartbeats (monitor) merged with live inspect replies."""
    live = inspect_stats()
    try:
        seen = {w["hostname"]: w for w in history().workers()}
    except SQLAlchemyError as exc:
        log.warning("history database unavailable: %s", exc)
        seen = {}
    out = []
    for host in sorted(set(seen) | set(live)):
        hb = seen.get(host, {})
        st = live.get(host, {})
        processed = hb.get("processed")
        if processed is None and st:
            processed = sum(st.get("processedByTask", {}).values())
        out.append(
            {
                "hostname": host,
                "online": bool(st) or bool(hb.get("online")),
                "poolSize": st.get("poolSize"),
                "active": hb.get("active"),
                "processed": processed,
                "lastHeartbeat": hb.get("lastHeartbeat"),
                "heartbeatAge": hb.get("heartbeatAge"),
                "loadavg": hb.get("loadavg"),
                "uptime": st.get("uptime"),
            }
        )
    return out


def with_live_progress(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `progress` to each job: recorded steps for unfinished ones (one round trip)."""
    pending = [j for j in jobs if j["state"] in UNFINISHED_STATES]
    for j in jobs:
        j["progress"] = {"percent": 100} if j["state"] == State.SUCCEEDED else None
    if not pending:
        return jobs
    try:
        recorded = backend().jobs.progress_of([j["id"] for j in pending])
    except (StoreUnavailable, redis.RedisError) as exc:
        log.warning("could not read progress: %s", exc)
        return jobs
    for job, raw in zip(pending, recorded, strict=True):
        progress = Progress.from_json(raw)
        if progress is not None:
            job["progress"] = {
                "percent": progress.percent,
                "current": progress.current,
                "total": progress.total,
            }
        elif job["state"] == State.RUNNING:
            job["progress"] = {"percent": 0}
    return jobs
