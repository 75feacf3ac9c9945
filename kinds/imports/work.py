"""The worker half of imports: load the staged file through the one sales loader."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from jobs.failures import JobError
from jobs.kinds import RunContext
from jobs.settings import Settings
from sales.bad_rows import purge_errors
from sales.ledger import ImportStatus
from sales.loader import run_import
from sales.staging import purge_stale
from sales.tables import ready


class TooManyBadRows(JobError):
    """Raised when an import has more invalid rows than its `maxBadRows` allows."""

    slug = "too-many-bad-rows"
    title = "The import has too many invalid rows"


def housekeeping(engine: Engine, settings: Settings) -> None:
    """Drop what abandoned imports left: uploads whose job can no longer run (the web
    died mid-upload, the job was cancelled while queued) and bad-row lists past retention."""
    purge_stale(engine, settings.job_queue_timeout + settings.task_time_limit + 3600)
    purge_errors(engine, settings.retention_seconds)


def execute(ctx: RunContext, job_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Import one staged upload; the sales table changes only if it all succeeds."""
    allowed = int(parameters.get("maxBadRows", 0))

    def on_progress(rows: int, done: int, total: int) -> None:
        # Rows read so far, and the rows the whole file holds at this rate.
        estimate = max(rows, round(rows * total / done)) if done else None
        ctx.progress(rows, estimate, int(done * 100 / total) if total else 0)

    engine = ready(ctx.engine())
    housekeeping(engine, ctx.settings)
    outcome = run_import(engine, ctx.job_id, allowed, on_progress)
    if outcome.status is ImportStatus.TOO_MANY_BAD_ROWS:
        raise TooManyBadRows(
            f"{outcome.rows_rejected} of {outcome.rows_read} rows are invalid and at most "
            f"{allowed} may be (maxBadRows); nothing was imported. The errors resource "
            "lists each bad row with its line number; fix them, or raise maxBadRows."
        )
    ctx.completed(outcome.rows_read)  # the rows are in: no cancellation check now
    return outcome.result()
