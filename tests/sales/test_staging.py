"""The web side of an import: uploads staged in chunks, discarded, purged; the header read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, update

from sales.errors import HeaderInvalid, UploadTooLarge
from sales.schema import ensure_tables, import_files, utcnow
from sales.staging import CHUNK_BYTES, discard_upload, purge_stale, read_header, stage_upload

Sql = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture
def tables(engine: Engine) -> Engine:
    """A database with the import tables."""
    ensure_tables(engine)
    return engine


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    return (body[i : i + size] for i in range(0, len(body), size))


def test_an_upload_is_stored_in_chunks_of_one_mebibyte(tables: Engine, sql: Sql) -> None:
    # Given 2.5 MiB arriving in writes of 10,000 bytes
    body = bytes(range(256)) * (5 * CHUNK_BYTES // 512)
    # When it is staged
    info = stage_upload(tables, "imp-1", pieces(body, 10_000))
    # Then it is kept whole, in order, in 1 MiB chunks
    assert (info.import_id, info.bytes, info.chunks) == ("imp-1", len(body), 3)
    chunks = sql("SELECT seq, data FROM import_uploads WHERE import_id = 'imp-1' ORDER BY seq")
    assert [len(bytes(d)) for _, d in chunks] == [
        CHUNK_BYTES,
        CHUNK_BYTES,
        len(body) - 2 * CHUNK_BYTES,
    ]
    assert b"".join(bytes(d) for _, d in chunks) == body
    assert sql("SELECT bytes, chunks, complete FROM import_files") == [(len(body), 3, True)]


def test_a_failed_upload_leaves_nothing_behind(tables: Engine, sql: Sql) -> None:
    # Given a client that goes away after 1.5 MiB
    def broken() -> Iterator[bytes]:
        yield b"x" * (3 * CHUNK_BYTES // 2)
        raise ConnectionResetError("client went away")

    # When its upload is staged
    with pytest.raises(ConnectionResetError):
        stage_upload(tables, "imp-2", broken())
    # Then neither chunks nor the file's row remain
    assert sql("SELECT count(*) FROM import_uploads") == [(0,)]
    assert sql("SELECT count(*) FROM import_files") == [(0,)]


def test_an_upload_over_its_limit_is_refused_and_discarded(tables: Engine, sql: Sql) -> None:
    with pytest.raises(UploadTooLarge, match="larger than 2000000 bytes"):
        stage_upload(tables, "imp-3", pieces(b"y" * 3_000_000, 65_536), max_bytes=2_000_000)
    assert sql("SELECT count(*) FROM import_uploads") == [(0,)]
    assert sql("SELECT count(*) FROM import_files") == [(0,)]


def test_an_upload_staged_again_replaces_the_first(tables: Engine, sql: Sql) -> None:
    stage_upload(tables, "imp-4", [b"a" * (CHUNK_BYTES + 1)])
    stage_upload(tables, "imp-4", [b"b" * 10])
    assert sql("SELECT seq, data FROM import_uploads") == [(0, b"b" * 10)]


def test_discard_removes_one_upload_only(tables: Engine, sql: Sql) -> None:
    stage_upload(tables, "keep", [b"k"])
    stage_upload(tables, "drop", [b"d" * (CHUNK_BYTES + 5)])
    discard_upload(tables, "drop")
    assert sql("SELECT import_id FROM import_uploads") == [("keep",)]
    assert sql("SELECT import_id FROM import_files") == [("keep",)]


def test_purge_removes_uploads_untouched_for_too_long(tables: Engine, sql: Sql) -> None:
    # Given an upload staged long ago, one staged now, and an old one a loader began lately
    for name in ("old", "new", "running"):
        stage_upload(tables, name, [b"data"])
    with tables.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE import_files SET staged_at = '2000-01-01 00:00:00'"
            " WHERE import_id IN ('old', 'running')"
        )
        conn.execute(
            update(import_files)
            .where(import_files.c.import_id == "running")
            .values(started_at=utcnow() - dt.timedelta(minutes=5))
        )
    # When uploads untouched for more than an hour are purged
    assert purge_stale(tables, 3600) == 1
    # Then only the abandoned one is gone
    assert sorted(r[0] for r in sql("SELECT import_id FROM import_uploads")) == ["new", "running"]
    assert sorted(r[0] for r in sql("SELECT import_id FROM import_files")) == ["new", "running"]


@pytest.mark.parametrize(
    ("first_bytes", "columns"),
    [
        (b"sold_at,region\nx,y\n", ["sold_at", "region"]),
        (b"\xef\xbb\xbfsold_at,region\r\n", ["sold_at", "region"]),
        (b'"sold_at","unit price"', ["sold_at", "unit price"]),
        (b"id,region,caf\xc3", ["id", "region", "caf"]),  # cut inside a character
    ],
)
def test_the_header_is_the_first_record(first_bytes: bytes, columns: list[str]) -> None:
    assert read_header(first_bytes) == columns


@pytest.mark.parametrize("first_bytes", [b"", b"\n", b"\xef\xbb\xbf", b"sold\xff_at,region\n"])
def test_a_missing_or_undecodable_header_is_refused(first_bytes: bytes) -> None:
    with pytest.raises(HeaderInvalid):
        read_header(first_bytes)
