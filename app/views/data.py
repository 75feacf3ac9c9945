"""`GET /api/data`: what reports read now, and a `version` that changes with the data."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from app.http.openapi import errors
from app.http.problems import Problem
from app.services.backend import backend
from sales.state import data_state
from sales.tables import ready

bp = Blueprint("data", __name__, url_prefix="/api", description="The sales data reports read.")


class DataSchema(Schema):
    """The sales data as reports see it now."""

    version = fields.String(metadata={"description": "Changes whenever the data changes"})
    rows = fields.Integer()
    firstSoldAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    lastSoldAt = fields.String(allow_none=True, metadata={"format": "date-time"})
    lastImport = fields.Dict(allow_none=True, metadata={"description": "The last completed import"})


@bp.route("/data")
class Data(MethodView):
    """The sales data."""

    @bp.response(200, DataSchema)
    @errors(bp, 401, 503)
    def get(self) -> dict[str, Any]:
        """Rows, time range, last import and version of the sales data."""
        try:
            return data_state(ready(backend().kind_services.engine())).document()
        except SQLAlchemyError as exc:
            raise Problem(
                503,
                "The sales database is unreachable right now. Retry later.",
                headers={"Retry-After": "5"},
            ) from exc
