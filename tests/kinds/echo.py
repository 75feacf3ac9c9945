"""A trivial third job kind, registered by a test through JOB_KINDS, served by the core
without any change to it: it repeats a message in steps."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields, validate

from jobs.kinds import JobKind, KindContext, Rendered, Resource, Submission, json_fingerprint
from jobs.settings import Settings
from jobs.states import State
from jobs.store.record import JobRecord, JobSnapshot


class EchoRequestSchema(Schema):
    """`{"message": "...", "times": n, "stepSeconds": s}`."""

    message = fields.String(required=True, validate=validate.Length(1, 200))
    times = fields.Integer(load_default=3, validate=validate.Range(1, 100))
    stepSeconds = fields.Float(load_default=0.0, validate=validate.Range(0, 5))


class EchoKind(JobKind):
    """Repeats a message."""

    name = "echo"
    collection = "echoes"
    title = "Echoes"
    description = "Repeat a message, slowly."
    executor = "tests.kinds.echo_work:execute"
    progress_unit = "repeats"
    resources = (
        Resource("download", "echoURL", "echo", frozenset({State.SUCCEEDED}), ("json", "csv")),
    )

    def types(self, settings: Settings) -> list[str]:
        return ["echo"]

    def task_names(self) -> dict[str, str]:
        return {"echo": "tests.echo"}

    def request_schema(self, settings: Settings) -> Schema:
        return EchoRequestSchema()

    def accept(self, body: dict[str, Any], ctx: KindContext) -> Submission:
        return Submission("echo", body, json_fingerprint(body))

    def describe(self, record: JobRecord) -> dict[str, Any]:
        return {"message": record.parameters["message"], "parameters": record.parameters}

    def render(self, resource: Resource, snap: JobSnapshot, fmt: str, ctx: KindContext) -> Rendered:
        lines = (snap.result or {}).get("lines", [])
        if fmt == "csv":
            return Rendered(
                ["line\r\n", *(f"{line}\r\n" for line in lines)], "text/csv", "echo.csv"
            )
        return Rendered([json.dumps({"lines": lines})], "application/json", "echo.json")


KIND = EchoKind()
