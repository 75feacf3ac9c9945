"""The HTTP layer: `create_app()` builds the Flask app that gunicorn serves."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)


def catalogues(api: Any, kinds: Any, settings: Any) -> dict[str, list[dict[str, Any]]]:
    """Each kind's catalogue of job types, parameter schemas as JSON Schema (built once)."""
    converter = api.spec.plugins[1].converter
    out = {}
    for kind in kinds.values():
        found = kind.catalogue(settings)
        if found is None:
            continue
        items = []
        for item in found[1]:
            schema = item["parameters"]
            if not isinstance(schema, dict):  # a marshmallow schema class
                schema = converter.schema2jsonschema(schema())
                schema.setdefault("additionalProperties", False)
            items.append({**item, "parameters": schema})
        out[kind.name] = items
    return out


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app; nothing connects until the first request."""
    # Imported here, not at module level: gunicorn.conf.py imports app.config in the
    # master, which must not load the views (and their metrics) before it is set up.
    from app.config import load_config
    from app.http import auth, openapi, problems, request_ids
    from app.http.api import ProblemApi
    from app.services import backend, waiting
    from app.views import metrics, polls, submits
    from app.views.dashboard import page as dashboard_page
    from app.views.data import bp as data_blp
    from app.views.health import bp as health_blp
    from app.views.jobs import job_blueprint
    from app.views.ops import blp as ops_blp
    from app.views.webhooks import blp as webhooks_blp

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's field order
    app.config.from_mapping(load_config())
    if test_config:
        app.config.from_mapping(test_config)
    settings = app.config["SETTINGS"]
    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": "Asynchronous Request-Reply API for slow jobs over sales data."}
        },
    )
    openapi.add_security(api, required=bool(app.config["API_KEYS"]))
    backend.init_app(app)
    kinds = backend.backend_of(app).kinds
    schemas: dict[str, Any] = {}  # collection -> its submit's request schema
    for kind in kinds.values():
        api.register_blueprint(job_blueprint(kind, settings, schemas))
        openapi.document_request_body(api, kind, settings)
    api.register_blueprint(data_blp)
    api.register_blueprint(health_blp)
    api.register_blueprint(ops_blp)
    api.register_blueprint(webhooks_blp)
    app.register_blueprint(dashboard_page)
    request_ids.init_app(app)
    metrics.init_app(app)
    problems.register_error_handlers(app)
    auth.init_app(app)
    openapi.init_docs(app)
    waiting.init_app(app)
    submits.init_app(app, schemas)  # behind the poll's fast path (polls are most requests)
    polls.init_app(app)  # last: its hook runs after the others (request id, API key)
    app.extensions["async_reports_catalogues"] = catalogues(api, kinds, settings)
    return app
