"""How an error of the sales database ends a job: a missing table is permanent (the data
was never loaded), a lost connection is worth a retry, the soft time limit is a time
limit however the driver wrapped it, anything else the job's own failure."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError, NoSuchTableError

from jobs.failures import DataUnavailable, JobError, TransientError


def classify_database_error(exc: DBAPIError | NoSuchTableError) -> JobError | SoftTimeLimitExceeded:
    """Tell a missing table (permanent) from a connection problem (worth a retry). The
    soft time limit comes first: raised during a driver call, it can surface wrapped (or
    as the cause of a cancelled query) and must end the job as a time limit, not a retry."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SoftTimeLimitExceeded):
            return seen
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    text = str(getattr(exc, "orig", exc)).lower()
    if (
        isinstance(exc, NoSuchTableError)
        or "no such table" in text
        or ("relation" in text and "does not exist" in text)
    ):
        return DataUnavailable(
            "The sales database has no `sales` table. Ask the operators to load the sales "
            "data (see the README: the seed command), then submit the job again."
        )
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or "connect" in text or "could not" in text or "timeout" in text
    ):
        return TransientError("The sales database could not be reached.")
    return JobError("The sales database rejected a query of this job.")
