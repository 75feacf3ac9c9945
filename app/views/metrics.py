"""Prometheus `GET /metrics`: request-side counters plus values read at scrape time.

Under gunicorn the counters live in PROMETHEUS_MULTIPROC_DIR (multiprocess mode, set up
by gunicorn.conf.py) so every worker process's counts add up. Finished jobs and their
durations come from the monitor's history (they survive restarts of everything); queue
depth and workers online are read live.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.http.auth import authenticate_admin
from app.services.backend import backend
from app.services.ops_data import clients, history, queue_depths, webhooks, workers_online
from jobs.history.tables import DURATION_BUCKETS

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

JOBS_SUBMITTED = Counter(
    "async_reports_jobs_submitted", "Jobs accepted by a POST, by kind and type", ["kind", "type"]
)
STATUS_POLLS = Counter(
    "async_reports_status_polls",
    "GET .../{id}/status answers, by kind and HTTP status (304 = not modified)",
    ["kind", "code"],
)


def count_submission(kind: str, job_type: str) -> None:
    """Count one accepted submission (a new job or an idempotent repeat of one)."""
    JOBS_SUBMITTED.labels(kind, job_type[:64]).inc()


def count_request(resp: Response) -> Response:
    """after_request hook: count status polls by kind and answer (no view code changes)."""
    endpoint = request.endpoint or ""
    if endpoint.endswith(".Status") and request.method == "GET":
        kind = backend().kinds.by_collection.get(endpoint.partition(".")[0])
        if kind is not None:
            count_poll(kind.name, resp.status_code)
    return resp


def count_poll(kind: str, code: int) -> None:
    """Count one status poll's answer (also called by the poll fast path, app/views/polls.py)."""
    STATUS_POLLS.labels(kind, str(code)).inc()


class LiveCollector(Collector):
    """Values read at scrape time from Redis, the broker and the history database."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Any]:
        """Queue depth, workers online, finished jobs and the duration histogram."""
        depth = GaugeMetricFamily(
            "async_reports_queue_depth", "Messages waiting in the broker queue", labels=["queue"]
        )
        for queue, n in queue_depths().items():
            if n is not None:
                depth.add_metric([queue], n)
        yield depth
        per_client = clients()
        if per_client is not None:
            jobs = GaugeMetricFamily(
                "async_reports_client_jobs",
                "Unfinished jobs per client: queued (backlog or broker) or running",
                labels=["client", "state"],
            )
            for row in per_client:
                jobs.add_metric([row["client"], "queued"], row["queued"])
                jobs.add_metric([row["client"], "running"], row["running"])
            yield jobs
        hooks = webhooks()
        if hooks is not None:
            attempts = CounterMetricFamily(
                "async_reports_webhook_attempts",
                "Webhook delivery attempts by outcome (succeeded, retrying, failed, stopped, "
                "refused)",
                labels=["outcome"],
            )
            for outcome, n in sorted(hooks["outcomes"].items()):
                attempts.add_metric([outcome], n)
            yield attempts
            yield GaugeMetricFamily(
                "async_reports_webhook_deliveries_pending",
                "Webhook deliveries waiting for an attempt (due or scheduled)",
                value=hooks["pending"],
            )
            yield GaugeMetricFamily(
                "async_reports_webhook_failing_endpoints",
                "Webhook URLs whose last attempt failed",
                value=len(hooks["failing"]),
            )
        online = workers_online()
        if online is not None:
            yield GaugeMetricFamily(
                "async_reports_workers_online", "Celery workers answering a ping", value=online
            )
        try:
            counts, hists = history().totals()
        except SQLAlchemyError as exc:
            log.warning("metrics: history database unavailable: %s", exc)
            return
        finished = CounterMetricFamily(
            "async_reports_jobs_finished",
            "Jobs that reached a terminal state, by kind, type and outcome (monitor history)",
            labels=["kind", "type", "outcome"],
        )
        for kind, job_type, outcome, n in counts:
            finished.add_metric([kind, job_type, outcome], n)
        yield finished
        hist = HistogramMetricFamily(
            "async_reports_job_duration_seconds",
            "Run time of finished jobs (succeeded or failed), by kind and type",
            labels=["kind", "type"],
        )
        for (kind, job_type), values in hists.items():
            *le, count, total = values
            buckets = [(str(b), int(n)) for b, n in zip(DURATION_BUCKETS, le, strict=True)]
            buckets.append(("+Inf", int(count)))
            hist.add_metric([kind, job_type], buckets, float(total or 0.0))
        yield hist


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition (admin key when ADMIN_API_KEYS is set)."""
    authenticate_admin()

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    live = CollectorRegistry(auto_describe=False)
    live.register(LiveCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    body = generate_latest(base) + generate_latest(live)
    return Response(
        body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST
    )


def init_app(app: Flask) -> None:
    """Register /metrics and the request counters."""
    app.register_blueprint(bp)
    app.after_request(count_request)
