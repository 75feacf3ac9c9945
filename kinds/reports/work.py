"""The worker half of reports: validate again, compute in steps, wrap the result."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError

from jobs.failures import InvalidParameters
from jobs.kinds import RunContext
from kinds.reports.catalogue import REPORT_TYPES
from kinds.reports.compute import COMPUTATIONS


def execute(ctx: RunContext, report_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Compute one report (the runtime records its progress and outcome)."""
    try:
        params = REPORT_TYPES[report_type].schema.load(parameters)
    except ValidationError as exc:
        raise InvalidParameters(f"Invalid parameters: {exc.messages}") from None
    data = COMPUTATIONS[report_type](ctx.engine(), params, ctx.progress)
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"reportType": report_type, "parameters": parameters, "generatedAt": generated, **data}
