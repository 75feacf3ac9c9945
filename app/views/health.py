"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from celery import Celery
from flask import Response, json
from flask_smorest import Blueprint

from app.http.openapi import errors
from app.http.problems import problem_response
from app.services.backend import backend
from jobs.errors import StoreUnavailable
from jobs.store import JobStore

bp = Blueprint("health", __name__, description="Liveness and readiness probes.")

_WORKER_CACHE: dict[str, Any] = {"at": 0.0, "names": []}
WORKER_CACHE_SECONDS = 2.0
# Readiness checks run here, two at a time per probe; a few probes at once at most.
_CHECKS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@bp.route("/healthz", methods=["GET"])
@bp.doc(security=[])  # public even when API keys are configured
@bp.response(200, description="The process is up", example={"status": "ok"})
def healthz() -> Response:
    """The process is up (no dependency is checked)."""
    return Response(json.dumps({"status": "ok"}), mimetype="application/json")


def _workers(celery: Celery) -> list[str]:
    # A broadcast ping costs every worker a reply; answer from a short cache.
    now = time.monotonic()
    if now - _WORKER_CACHE["at"] > WORKER_CACHE_SECONDS:
        replies = celery.control.ping(timeout=1.0) or []
        _WORKER_CACHE.update(at=now, names=sorted(name for r in replies for name in r))
    return list(_WORKER_CACHE["names"])


def _store_check(jobs: JobStore) -> dict[str, Any]:
    try:
        jobs.ping()
        return {"store": "ok"}
    except (StoreUnavailable, redis.RedisError, OSError) as exc:
        return {"store": f"unreachable: {type(exc).__name__}"}


def _broker_checks(celery: Celery) -> dict[str, Any]:
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        workers = _workers(celery)
        return {"broker": "ok", "workers": len(workers) if workers else "none answering"}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported below
        return {"broker": f"unreachable: {type(exc).__name__}", "workers": "unknown"}


@bp.route("/readyz", methods=["GET"])
@bp.doc(security=[])  # public even when API keys are configured
@bp.response(
    200,
    description="Redis, the broker and at least one worker answer",
    example={"status": "ready", "checks": {"store": "ok", "broker": "ok", "workers": 1}},
)
@errors(bp, 503)
def readyz() -> Response:
    """Ready when the store and broker answer and at least one worker replies."""
    # The store and the broker are checked at once: a hung dependency costs its own
    # timeout (about 1 s for the store, 2 s + the 1 s worker ping for the broker), not
    # the sum of them all.
    b = backend()
    store = _CHECKS.submit(_store_check, b.jobs)
    broker = _CHECKS.submit(_broker_checks, b.celery)
    checks: dict[str, Any] = {**store.result(), **broker.result()}
    missing = [
        f"{name}: {value}"
        for name, value in checks.items()
        if value != "ok" and not isinstance(value, int)
    ]
    if missing:
        return problem_response(
            503,
            "Not ready: " + "; ".join(missing) + ".",
            title="Not ready",
            headers={"Retry-After": "5"},
            checks=checks,
        )
    body = {"status": "ready", "checks": checks}
    return Response(json.dumps(body), status=200, mimetype="application/json")
