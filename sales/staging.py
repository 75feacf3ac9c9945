"""Web side of an import: stage the uploaded CSV in the database for whichever worker runs it."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update

from sales.errors import HeaderInvalid, UploadTooLarge
from sales.schema import import_files, import_uploads, utcnow

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class UploadInfo:
    """What was staged: the import's id, its size in bytes and its number of chunks."""

    import_id: str
    bytes: int
    chunks: int


def read_header(first_bytes: bytes) -> list[str]:
    """The column names of a CSV body's first record: pass its first 64 KiB (UTF-8, BOM or not)."""
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(first_bytes, final=False)
    except UnicodeDecodeError:
        raise HeaderInvalid({"": "the header row is not UTF-8 text"}) from None
    record = next(csv.reader(io.StringIO(text, newline="")), None)
    if not record:
        raise HeaderInvalid({"": "the first line must be a header row naming the columns"})
    return record


def stage_upload(
    engine: Engine,
    import_id: str,
    chunks: Iterable[bytes],
    max_bytes: int | None = None,
) -> UploadInfo:
    """Store an upload in ~1 MiB chunks, a transaction each; on any failure, keep nothing."""
    discard_upload(engine, import_id)  # a retried upload starts afresh
    with engine.begin() as conn:
        conn.execute(
            insert(import_files).values(
                import_id=import_id, bytes=0, chunks=0, complete=False, staged_at=utcnow()
            )
        )
    total = seq = 0
    try:
        for piece in _pieces(chunks):
            total += len(piece)
            if max_bytes is not None and total > max_bytes:
                raise UploadTooLarge(f"the upload is larger than {max_bytes} bytes")
            # One commit per chunk: an SQLite write lock held for the whole upload would
            # stall a worker committing another import for as long as the client sends.
            with engine.begin() as conn:
                conn.execute(
                    insert(import_uploads).values(import_id=import_id, seq=seq, data=piece)
                )
            seq += 1
        with engine.begin() as conn:
            conn.execute(
                update(import_files)
                .where(import_files.c.import_id == import_id)
                .values(bytes=total, chunks=seq, complete=True)
            )
    except BaseException:
        discard_upload(engine, import_id)
        raise
    return UploadInfo(import_id, total, seq)


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)


def discard_upload(engine: Engine, import_id: str) -> None:
    """Delete an upload (all its chunks), if there is one."""
    with engine.begin() as conn:
        conn.execute(delete(import_uploads).where(import_uploads.c.import_id == import_id))
        conn.execute(delete(import_files).where(import_files.c.import_id == import_id))


def purge_stale(engine: Engine, older_than_seconds: float) -> int:
    """Delete uploads untouched for that long (the web died, the job never ran); how many."""
    # A loader touches its upload when it starts and a finished import removes its
    # own: past the longest wait in the queue plus the longest run, it is abandoned.
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    last_touched = func.coalesce(import_files.c.started_at, import_files.c.staged_at)
    with engine.begin() as conn:
        stale = list(
            conn.execute(select(import_files.c.import_id).where(last_touched < cutoff)).scalars()
        )
        for import_id in stale:
            conn.execute(delete(import_uploads).where(import_uploads.c.import_id == import_id))
        conn.execute(delete(import_files).where(import_files.c.import_id.in_(stale)))
        # Chunks without their file row are no one's (there should be none).
        orphans = (
            ~select(import_files.c.import_id)
            .where(import_files.c.import_id == import_uploads.c.import_id)
            .exists()
        )
        conn.execute(delete(import_uploads).where(orphans))
    return len(stale)
