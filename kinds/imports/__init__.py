"""Imports: CSV files of sales rows loaded into the sales database (`/api/imports`)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from marshmallow import fields
from sqlalchemy.exc import SQLAlchemyError

from jobs.errors import DatabaseUnavailable, PayloadTooLarge
from jobs.kinds import Incoming, JobKind, KindContext, Rendered, Resource, Submission
from jobs.settings import Settings
from jobs.states import State
from jobs.store.record import JobRecord, JobSnapshot
from kinds.imports.upload import (
    UploadReader,
    check_encoding,
    max_bad_rows,
    with_checked_header,
)
from sales.bad_rows import bad_rows_csv, bad_rows_json, discard_bad_rows
from sales.staging import discard_upload, stage_upload
from sales.tables import ready

log = logging.getLogger(__name__)

JOB_TYPE = "sales-csv"
ERRORS = Resource(
    name="errors",
    field="errorsURL",
    link="errors",
    states=frozenset({State.SUCCEEDED, State.FAILED}),
    formats=("csv", "json"),
    summary="The rejected rows of an import: CSV `line,column,value,message` (default) or JSON.",
)
RESULT_FIELDS = ("rowsRead", "rowsImported", "rowsRejected", "firstSoldAt", "lastSoldAt")


class ImportKind(JobKind):
    """A CSV file of sales rows, imported all or nothing."""

    name = "import"
    collection = "imports"
    title = "Imports"
    description = "Upload CSV files of sales rows; each is imported all or nothing."
    executor = "kinds.imports.work:execute"
    progress_unit = "rows"
    changes_data = True  # a completed import adds rows: results computed before are stale
    resources = (ERRORS,)
    stream_media_types = ("text/csv",)

    def types(self, settings: Settings) -> list[str]:
        """One type: a CSV file of sales rows."""
        return [JOB_TYPE]

    def task_names(self) -> dict[str, str]:
        """The import task."""
        return {JOB_TYPE: "imports.sales_csv"}

    def max_stream_bytes(self, settings: Settings) -> int:
        """IMPORT_MAX_BYTES."""
        return settings.import_max_bytes

    def stream_request_doc(self) -> dict[str, Any]:
        """A CSV body (gzip accepted), `maxBadRows` in the query."""
        return {
            "required": True,
            "description": "A CSV file with a header row: sold_at, region, product, category, "
            "customer_id, quantity, unit_price (any order) and optionally id. Send "
            "`Content-Encoding: gzip` for a gzipped file. Query parameter `maxBadRows` "
            "(default 0): how many invalid rows may be skipped.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }

    def accept_stream(self, incoming: Incoming, job_id: str, ctx: KindContext) -> Submission:
        """Check the upload and stage it under `job_id`; reject it leaving nothing behind."""
        allowed = max_bad_rows(incoming.query.get("maxBadRows"))
        gzipped = check_encoding(incoming.content_encoding)
        limit = ctx.settings.import_max_bytes
        if incoming.content_length is not None and incoming.content_length > limit:
            raise PayloadTooLarge(
                f"The upload is larger than this service accepts ({limit} bytes, "
                "IMPORT_MAX_BYTES); split the file into smaller imports."
            )
        reader = UploadReader(incoming.stream, limit, gzipped)
        engine = ready(ctx.engine())
        try:
            info = stage_upload(engine, job_id, with_checked_header(reader.chunks()))
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                discard_upload(engine, job_id)
            raise DatabaseUnavailable(str(exc)) from exc
        except BaseException:
            with contextlib.suppress(SQLAlchemyError):
                discard_upload(engine, job_id)
            raise
        fingerprint = f"{reader.digest.hexdigest()}:{allowed}"
        log.info("staged import %s: %s bytes, %s received", job_id, info.bytes, reader.received)
        return Submission(
            JOB_TYPE,
            {"maxBadRows": allowed},
            fingerprint,
            discard=lambda: _discard(ctx, job_id),
        )

    def document_fields(self) -> dict[str, Any]:
        """`parameters` and, once Complete, `result`."""
        return {
            "parameters": fields.Dict(metadata={"example": {"maxBadRows": 0}}),
            "result": fields.Dict(
                metadata={
                    "description": "rowsRead, rowsImported, rowsRejected, firstSoldAt, lastSoldAt"
                }
            ),
        }

    def outcome(self, snap: JobSnapshot) -> dict[str, Any]:
        """The counts of a completed import."""
        result = snap.result if isinstance(snap.result, dict) else {}
        return {"result": {k: result.get(k) for k in RESULT_FIELDS}}

    def render(self, resource: Resource, snap: JobSnapshot, fmt: str, ctx: KindContext) -> Rendered:
        """The rejected rows, streamed from the database."""
        engine, job_id = ready(ctx.engine()), snap.record.id
        if fmt == "json":
            return Rendered(
                bad_rows_json(engine, job_id), "application/json", f"import-{job_id}-errors.json"
            )
        return Rendered(bad_rows_csv(engine, job_id), "text/csv", f"import-{job_id}-errors.csv")

    def forget(self, record: JobRecord, ctx: KindContext) -> None:
        """Drop the import's rejected rows and anything still staged."""
        _discard(ctx, record.id)
        try:
            discard_bad_rows(ready(ctx.engine()), record.id)
        except SQLAlchemyError as exc:  # they are purged with age anyway
            log.warning("could not discard the bad rows of %s: %s", record.id, exc)


def _discard(ctx: KindContext, job_id: str) -> None:
    try:
        discard_upload(ready(ctx.engine()), job_id)
    except SQLAlchemyError as exc:  # staged data of a lost job is purged later
        log.warning("could not discard the staged upload of %s: %s", job_id, exc)


KIND = ImportKind()
