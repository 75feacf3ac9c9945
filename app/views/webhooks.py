"""`/api/webhooks/secret`: the caller's webhook signing secret, and its rotation."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app.http.openapi import errors
from app.http.push_schemas import WebhookSecretSchema
from app.services.access import current_owner
from app.services.backend import backend
from jobs.status import iso

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/webhooks", description="Webhook signing secrets."
)


@blp.route("/secret")
class Secret(MethodView):
    """The secret that signs your webhooks (one per API key; one for the open API)."""

    @blp.response(200, WebhookSecretSchema)
    @errors(blp, 401, 503)
    def get(self) -> dict[str, Any]:
        """Your signing secret (`whsec_...`); verify deliveries with it."""
        return {"secret": backend().secrets.current(current_owner()), "previousValidUntil": None}


@blp.route("/secret/rotate")
class Rotation(MethodView):
    """Replace your signing secret."""

    @blp.response(200, WebhookSecretSchema)
    @errors(blp, 401, 503)
    def post(self) -> dict[str, Any]:
        """A new secret; the old one keeps signing beside it for WEBHOOK_SECRET_OVERLAP s."""
        secret, until = backend().secrets.rotate(current_owner())
        return {"secret": secret, "previousValidUntil": iso(until)}
