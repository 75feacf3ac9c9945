"""The baselines' web side: a bare Flask app doing the least our endpoints must do.

gunicorn serves it with the same command and config as ours (`bench.bare_app:create_app()`
in place of `app:create_app()`), so the ratio ours/bare is the cost of our code alone.
"""

from __future__ import annotations

import os
import uuid

import redis
from flask import Flask, Response, json, request


def create_app() -> Flask:
    """GET /bare/status/<id>: one HGETALL; POST /bare/reports: one HSET + LPUSH pipeline."""
    app = Flask(__name__)
    client = redis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
    )

    @app.get("/bare/status/<job_id>")
    def status(job_id: str) -> Response:
        return Response(json.dumps(client.hgetall(f"ar:job:{job_id}")), mimetype="application/json")

    @app.post("/bare/reports")
    def submit() -> Response:
        body = request.get_json()
        job_id = str(uuid.uuid4())
        pipe = client.pipeline(transaction=True)
        pipe.hset(f"bare:job:{job_id}", mapping={"id": job_id, "body": json.dumps(body)})
        pipe.lpush("bare:queue", job_id)
        pipe.execute()
        return Response(
            json.dumps({"id": job_id}),
            status=202,
            mimetype="application/json",
            headers={"Location": f"/bare/status/{job_id}"},
        )

    return app
