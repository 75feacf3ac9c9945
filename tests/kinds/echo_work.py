"""The worker half of the echo kind."""

from __future__ import annotations

import time
from typing import Any

from jobs.kinds import RunContext


def execute(ctx: RunContext, job_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Repeat the message `times` times, one step each."""
    lines = []
    for i in range(1, parameters["times"] + 1):
        time.sleep(parameters.get("stepSeconds", 0.0))
        lines.append(f"{i}: {parameters['message']}")
        ctx.progress(i, parameters["times"])
    return {"lines": lines}
