"""The ops API (`/api/ops/...`), admin-only when admin keys are set."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.http.auth import authenticate_admin
from app.http.problems import Problem
from app.services import ops_data
from app.services.backend import backend
from app.services.cancel import cancel_or_forget
from jobs.states import State
from jobs.status import job_state

blp = Blueprint(
    "ops",
    __name__,
    url_prefix="/api/ops",
    description="Operations: workers, queues, job history and statistics, remote control. "
    "Needs an admin key (ADMIN_API_KEYS) when admin keys are configured.",
)


@blp.before_request
def _admin_only() -> None:
    authenticate_admin()


class WindowSchema(Schema):
    """How far back statistics look."""

    window = fields.Integer(
        load_default=3600,
        validate=validate.Range(1, 90 * 24 * 3600),
        metadata={"description": "Seconds back from now"},
    )


class JobListQuerySchema(Schema):
    """Which jobs to list."""

    limit = fields.Integer(load_default=20, validate=validate.Range(1, 500))
    state = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in State]),
    )


class PoolChangeSchema(Schema):
    """Grow or shrink one worker's process pool."""

    action = fields.String(required=True, validate=validate.OneOf(["grow", "shrink"]))
    n = fields.Integer(load_default=1, validate=validate.Range(1, 16))


def overview(window: int) -> dict[str, Any]:
    """Everything the dashboard shows, in one document."""
    hist = ops_data.history()
    since = time.time() - window
    return {
        "generatedAt": time.time(),
        "window": window,
        "workers": ops_data.workers(),
        "queues": ops_data.queue_depths(),
        "clients": ops_data.clients(),
        "queueHistory": hist.queue_history(time.time() - 30 * 60),
        "stats": hist.summary(since),
        "throughput": hist.throughput(time.time() - 30 * 60, 60),
        "recent": ops_data.with_live_progress(hist.recent(25)),
        "webhooks": ops_data.webhooks(),
    }


@blp.route("/overview")
class Overview(MethodView):
    """The dashboard's data."""

    @blp.arguments(WindowSchema, location="query")
    @blp.response(200)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Workers, queues, statistics, throughput and the newest jobs at once."""
        return overview(query["window"])


@blp.route("/workers")
class Workers(MethodView):
    """Celery workers."""

    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """Workers seen: online, pool size, active and processed counts, last heartbeat."""
        return {"items": ops_data.workers()}


@blp.route("/workers/<string:hostname>/pool")
class WorkerPool(MethodView):
    """One worker's process pool."""

    @blp.arguments(PoolChangeSchema)
    @blp.response(200)
    def post(self, body: dict[str, Any], hostname: str) -> dict[str, Any]:
        """Grow or shrink a worker's pool by `n` processes (celery control pool_grow/shrink)."""
        known = {w["hostname"] for w in ops_data.workers() if w["online"]}
        if hostname not in known:
            raise Problem(404, f"No online worker is called {hostname!r}.")
        control = backend().celery.control
        change = control.pool_grow if body["action"] == "grow" else control.pool_shrink
        replies = change(body["n"], destination=[hostname], reply=True, timeout=3.0) or []
        answer = next((r[hostname] for r in replies if hostname in r), None)
        if answer is None:
            raise Problem(503, f"Worker {hostname!r} did not answer.", headers={"Retry-After": "5"})
        if "error" in answer:
            raise Problem(409, f"Worker {hostname!r} refused: {answer['error']}")
        ops_data._cache.pop("inspect", None)
        return {"hostname": hostname, "action": body["action"], "n": body["n"], "reply": answer}


@blp.route("/queues")
class Queues(MethodView):
    """Broker queues."""

    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """Messages waiting per queue."""
        return {"items": [{"name": q, "depth": n} for q, n in ops_data.queue_depths().items()]}


@blp.route("/clients")
class Clients(MethodView):
    """Fair sharing, per client."""

    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """Queued (backlog plus handed to the broker) and running jobs per client."""
        rows = ops_data.clients()
        if rows is None:
            raise Problem(503, "The job store cannot be read.", headers={"Retry-After": "5"})
        return {"items": rows}


@blp.route("/stats")
class Stats(MethodView):
    """Job statistics over a window."""

    @blp.arguments(WindowSchema, location="query")
    @blp.response(200)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Counts by state and type; duration percentiles and failure rate per report type."""
        return ops_data.history().summary(time.time() - query["window"])


@blp.route("/jobs")
class Jobs(MethodView):
    """Job history (kept by the monitor; outlives result retention)."""

    @blp.arguments(JobListQuerySchema, location="query")
    @blp.response(200)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The newest jobs, with live progress for unfinished ones."""
        jobs = ops_data.history().recent(query["limit"], query["state"])
        return {"items": ops_data.with_live_progress(jobs)}


@blp.route("/failures")
class Failures(MethodView):
    """Recent failures."""

    @blp.arguments(JobListQuerySchema, location="query")
    @blp.response(200)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The most recent failed jobs with their errors, newest first."""
        return {"items": ops_data.history().recent(query["limit"], "failed")}


@blp.route("/jobs/<uuid:job_id>")
class Job(MethodView):
    """One job's history."""

    @blp.response(200)
    def get(self, job_id: UUID) -> dict[str, Any]:
        """A job's history row and every event recorded for it."""
        doc = ops_data.history().job(str(job_id))
        if doc is None:
            raise Problem(404, f"The monitor has no history of job {job_id}.")
        return ops_data.with_live_progress([doc])[0]


@blp.route("/jobs/<uuid:job_id>/cancel")
class JobCancel(MethodView):
    """Cancel a job on an operator's behalf."""

    @blp.response(202)
    def post(self, job_id: UUID) -> dict[str, Any]:
        """Cancel any client's unfinished job, as its own DELETE would (flag + revoke)."""
        jid = str(job_id)
        snap = backend().jobs.read(jid)
        if snap is None:
            raise Problem(404, f"There is no live job {jid} (finished jobs are in the history).")
        if job_state(snap).terminal:
            raise Problem(409, f"Job {jid} has already finished; there is nothing to cancel.")
        view = cancel_or_forget(snap)
        return {"id": jid, "cancelRequested": True, "status": view.document if view else None}
