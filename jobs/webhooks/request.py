"""`webhook` and `webhookEvents` of a submission, for every kind (JSON body or query)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, fields, validate

from jobs.webhooks.urls import check_url

EVENTS = ("started", "progress", "completed")
PRIORITIES = ("high", "normal", "low")  # orders a client's own jobs (fair sharing)
DEFAULT_EVENTS = ("completed",)


class WebhookFields(Schema):
    """The fields every JSON kind's request schema takes (inherit from this): the
    webhook's, and `priority`."""

    priority = fields.String(
        validate=validate.OneOf(PRIORITIES),
        metadata={
            "description": "Orders this client's own jobs (default normal); fairness "
            "between clients holds whatever the priority",
            "example": "normal",
        },
    )

    webhook = fields.String(
        validate=validate.Length(1, 2048),
        metadata={
            "description": "URL that receives a signed POST on each of `webhookEvents`",
            "example": "https://example.com/hooks/reports",
        },
    )
    webhookEvents = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        validate=validate.Length(1, len(EVENTS)),
        metadata={
            "description": "Events to send (default [completed]; completed = any end)",
            "example": ["completed"],
        },
    )


def with_webhook_fields(schema: Schema) -> Schema:
    """A JSON kind's request schema that takes `webhook`/`webhookEvents` too: as it is
    when it inherits WebhookFields, else with the two fields added to this instance."""
    if isinstance(schema, WebhookFields):
        return schema
    for name, declared in WebhookFields._declared_fields.items():
        schema.declared_fields[name] = copy.deepcopy(declared)
    schema._init_fields()  # marshmallow's own step after declared_fields change
    return schema


def webhook_spec(
    url: str | None, events: Iterable[str] | None, allow_private: bool
) -> dict[str, Any] | None:
    """The job's webhook ({"url", "events"}), checked (WebhookRefused), or None."""
    if url is None:
        return None
    check_url(url, allow_private)
    chosen = sorted(set(events or DEFAULT_EVENTS), key=EVENTS.index)
    return {"url": url, "events": chosen}


def split_body(body: dict[str, Any]) -> tuple[dict[str, Any], str | None, list[str] | None]:
    """A JSON body without its webhook fields, and those fields."""
    rest = {k: v for k, v in body.items() if k not in {"webhook", "webhookEvents", "priority"}}
    return rest, body.get("webhook"), body.get("webhookEvents")
