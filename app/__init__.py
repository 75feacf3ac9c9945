"""The HTTP layer: `create_app()` builds the Flask app that gunicorn serves."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_smorest import Api

from app import auth, backend, openapi, problems, waiting
from app.config import load_config
from jobs.catalogue import REPORT_TYPES

log = logging.getLogger(__name__)


class ProblemApi(Api):
    """flask-smorest's Api answering errors as RFC 9457 problem details."""

    def handle_http_exception(self, error):
        """Werkzeug/webargs errors -> problem+json."""
        return problems.handle_http_exception(error)

    def _register_responses(self):
        """Error responses are documented as problem+json, with their headers."""
        openapi.register_problem_responses(self)


def describe_catalogue(api: Api) -> dict[str, dict[str, Any]]:
    """Each report type as published by GET /api/report-types (built once)."""
    converter = api.spec.plugins[1].converter
    out = {}
    for name, rt in REPORT_TYPES.items():
        schema = converter.schema2jsonschema(rt.parameters())
        schema.setdefault("additionalProperties", False)
        out[name] = {
            "name": name,
            "title": rt.title,
            "description": rt.description,
            "parameters": schema,
            "columns": list(rt.columns),
        }
    return out


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app; nothing connects until the first request."""
    from app import logs, metrics, ops_data
    from app.health import bp as health_bp
    from app.ops import blp as ops_blp
    from app.ops import page as ops_page
    from app.reports import blp as reports_blp
    from app.schemas import ProblemSchema

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's field order
    app.config.from_mapping(load_config())
    if test_config:
        app.config.from_mapping(test_config)
    ProblemApi.ERROR_SCHEMA = ProblemSchema
    api = ProblemApi(
        app,
        spec_kwargs={
            "info": {"description": "Asynchronous Request-Reply API for slow sales reports."}
        },
    )
    openapi.add_security(api, required=bool(app.config["API_KEYS"]))
    api.register_blueprint(reports_blp)
    api.register_blueprint(health_bp)
    api.register_blueprint(ops_blp)
    app.register_blueprint(ops_page)
    logs.init_app(app)
    metrics.init_app(app)
    ops_data.init_app(app)
    problems.register_error_handlers(app)
    auth.init_app(app)
    openapi.init_docs(app)
    waiting.init_app(app)
    backend.init_app(app)
    app.extensions["async_reports_catalogue"] = describe_catalogue(api)
    return app
