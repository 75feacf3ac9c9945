"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Response, json
from flask_smorest import Blueprint

from app.http.openapi import errors
from app.http.problems import problem_response
from app.services.backend import backend
from jobs.errors import StoreUnavailable

bp = Blueprint("health", __name__, description="Liveness and readiness probes.")

_WORKER_CACHE: dict[str, Any] = {"at": 0.0, "names": []}
WORKER_CACHE_SECONDS = 2.0


@bp.route("/healthz", methods=["GET"])
@bp.doc(security=[])  # public even when API keys are configured
@bp.response(200, description="The process is up", example={"status": "ok"})
def healthz() -> Response:
    """The process is up (no dependency is checked)."""
    return Response(json.dumps({"status": "ok"}), mimetype="application/json")


def _workers() -> list[str]:
    # A broadcast ping costs every worker a reply; answer from a short cache.
    now = time.monotonic()
    if now - _WORKER_CACHE["at"] > WORKER_CACHE_SECONDS:
        replies = backend().celery.control.ping(timeout=1.0) or []
        _WORKER_CACHE.update(at=now, names=sorted(name for r in replies for name in r))
    return list(_WORKER_CACHE["names"])


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
    checks: dict[str, Any] = {}
    try:
        backend().jobs.ping()
        checks["store"] = "ok"
    except (StoreUnavailable, redis.RedisError, OSError) as exc:
        checks["store"] = f"unreachable: {type(exc).__name__}"
    try:
        with backend().celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
        workers = _workers()
        checks["workers"] = len(workers) if workers else "none answering"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported below
        checks["broker"] = f"unreachable: {type(exc).__name__}"
        checks["workers"] = "unknown"
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
