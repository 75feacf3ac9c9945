"""Response and query schemas shared by every kind's resources (they document the API)."""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from app.http import cursor
from app.http.cursor import BadCursor, decode
from jobs.kinds import JobKind
from jobs.states import State, Status

STATUSES = [s.value for s in Status]


class ProgressSchema(Schema):
    """How far a job has got, in its kind's unit."""

    percent = fields.Integer(metadata={"example": 42})
    current = fields.Integer(metadata={"example": 5})
    total = fields.Integer(allow_none=True, metadata={"example": 12})
    unit = fields.String(metadata={"example": "steps", "description": "What is counted"})


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(metadata={"example": "https://async-reports.example/problems/not-found"})
    title = fields.String(metadata={"example": "Not found"})
    status = fields.Integer(metadata={"example": 404})
    detail = fields.String()
    instance = fields.String(metadata={"example": "/api/reports/3f0c.../status"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field (validation errors)"},
    )


class JobErrorSchema(Schema):
    """Why a job failed, in words a client can act on."""

    type = fields.String()
    title = fields.String()
    detail = fields.String()


def _title(kind: JobKind) -> str:
    return kind.name.title().replace("-", "")


@cache
def status_schema(kind: JobKind) -> type[Schema]:
    """The status document of a job of `kind` (its own fields between `kind` and `status`)."""
    links: dict[str, Any] = {"self": fields.String(), "cancel": fields.String()}
    resource_fields: dict[str, Any] = {}
    for resource in kind.resources:
        links[resource.link] = fields.String()
        resource_fields[resource.field] = fields.String(
            metadata={"example": f"/api/{kind.collection}/3f0c.../{resource.name}"}
        )
    return Schema.from_dict(
        {
            "id": fields.String(metadata={"format": "uuid"}),
            "kind": fields.String(metadata={"example": kind.name}),
            **kind.document_fields(),
            "status": fields.String(validate=validate.OneOf(STATUSES)),
            "state": fields.String(validate=validate.OneOf([s.value for s in State])),
            "progress": fields.Nested(ProgressSchema),
            "estimatedTimeRemaining": fields.String(
                metadata={"example": "120 seconds", "pattern": "^[0-9]+ seconds$"}
            ),
            "createdAt": fields.String(metadata={"format": "date-time"}),
            "startedAt": fields.String(allow_none=True, metadata={"format": "date-time"}),
            "finishedAt": fields.String(allow_none=True, metadata={"format": "date-time"}),
            "cached": fields.Boolean(
                metadata={"description": "Answered from a result computed for another job"}
            ),
            "computedAt": fields.String(
                metadata={"format": "date-time", "description": "When that result was computed"}
            ),
            **resource_fields,
            "error": fields.Nested(JobErrorSchema),
            "links": fields.Nested(Schema.from_dict(links, name=f"{_title(kind)}Links")),
        },
        name=f"{_title(kind)}Status",
    )


@cache
def list_schema(kind: JobKind) -> type[Schema]:
    """A page of the caller's jobs of `kind`, newest first."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(status_schema(kind))),
            "next": fields.String(
                allow_none=True,
                metadata={"description": "Cursor of the next page; null on the last"},
            ),
        },
        name=f"{_title(kind)}List",
    )


def _check_cursor(value: str) -> None:
    try:
        decode(value)
    except BadCursor:
        raise ValidationError("Not a cursor from this API; use the `next` of a page.") from None


@cache
def list_query_schema(kind: JobKind) -> type[Schema]:
    """Filters and paging of GET /api/<collection>."""
    query: dict[str, Any] = {
        "status": fields.String(
            load_default=None, validate=validate.OneOf(STATUSES), metadata={"example": "Complete"}
        ),
        "limit": fields.Integer(
            load_default=20,
            strict=False,
            validate=validate.Range(1, 100),
            metadata={"description": "Page size, 1-100"},
        ),
        "cursor": fields.String(
            load_default=None,
            validate=[validate.Length(1, 512), _check_cursor],
            metadata={
                "description": "The `next` of the previous page (pass it back as given)",
                "pattern": cursor.PATTERN,
            },
        ),
    }
    if kind.type_field:
        query[kind.type_field] = fields.String(load_default=None, validate=validate.Length(1, 64))
    return Schema.from_dict(query, name=f"{_title(kind)}ListQuery")


class FormatQuerySchema(Schema):
    """How to render a job's resource."""

    format = fields.String(
        load_default=None,
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "Overrides the Accept header"},
    )


class CatalogueItemSchema(Schema):
    """One entry of a kind's catalogue of job types."""

    name = fields.String()
    title = fields.String()
    description = fields.String()
    parameters = fields.Dict(metadata={"description": "JSON Schema of the parameters"})
    columns = fields.List(fields.String(), metadata={"description": "CSV columns"})


class CatalogueSchema(Schema):
    """A catalogue of job types."""

    items = fields.List(fields.Nested(CatalogueItemSchema))
