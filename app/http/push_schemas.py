"""Schemas of the push resources: webhook secrets and a job's delivery log."""

from __future__ import annotations

from marshmallow import Schema, fields


class WebhookSecretSchema(Schema):
    """The caller's webhook signing secret."""

    secret = fields.String(
        dump_only=True, metadata={"example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    )
    previousValidUntil = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Until when the previous secret signs beside this one"},
    )


class WebhookAttemptSchema(Schema):
    """One attempt of a delivery."""

    at = fields.String(dump_only=True)
    statusCode = fields.Integer(dump_only=True, allow_none=True)
    duration = fields.Float(dump_only=True, metadata={"description": "Seconds"})
    error = fields.String(dump_only=True, allow_none=True)


class WebhookDeliverySchema(Schema):
    """One event's delivery to the job's webhook, and every attempt of it."""

    id = fields.String(dump_only=True, metadata={"description": "The `webhook-id` header"})
    event = fields.String(dump_only=True, metadata={"example": "job.completed"})
    url = fields.String(dump_only=True)
    status = fields.String(
        dump_only=True, metadata={"description": "pending, succeeded, failed or stopped"}
    )
    createdAt = fields.String(dump_only=True)
    nextAttemptAt = fields.String(dump_only=True, allow_none=True)
    attempts = fields.List(fields.Nested(WebhookAttemptSchema), dump_only=True)


class WebhookDeliveriesSchema(Schema):
    """A job's webhook deliveries, in the order of their events."""

    items = fields.List(fields.Nested(WebhookDeliverySchema), dump_only=True)
