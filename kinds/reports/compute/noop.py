"""noop: a diagnostic report that only takes steps; measures job overhead, drives tests."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from jobs.failures import ReportError
from kinds.reports.compute.sql import StepCallback, no_steps


def noop(
    _engine: Engine, params: dict[str, Any], on_step: StepCallback = no_steps
) -> dict[str, Any]:
    """Take `steps` steps of `stepSeconds` each; fail at `failAtStep` when given."""
    steps, pause, fail_at = params["steps"], params["stepSeconds"], params.get("failAtStep")
    for step in range(1, steps + 1):
        if fail_at is not None and step == fail_at:
            raise ReportError(f"The diagnostic report was asked to fail at step {step}.")
        if pause:
            time.sleep(pause)
        on_step(step, steps)
    if fail_at == 0:
        raise ReportError("The diagnostic report was asked to fail at step 0.")
    return {"summary": {"steps": steps}, "steps": [{"step": s} for s in range(1, steps + 1)]}
