"""The web half of imports (kinds/imports/upload.py): reading an upload, gzipped or not,
within the size limit, and the request's own parameters."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
from typing import IO, Any, cast

import pytest
from flask import Flask

from app.http.parsing import incoming
from jobs.errors import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from jobs.kinds import Incoming
from jobs.settings import Settings
from kinds.imports import KIND as IMPORTS
from kinds.imports.upload import READ_SIZE, UploadReader, check_encoding, max_bad_rows

CSV = b"sold_at,region,product,category,customer_id,quantity,unit_price\n" + b"".join(
    f"2024-01-{d:02d}T10:00:00,North,Widget,Tools,{d},1,9.99\n".encode() for d in range(1, 29)
)
LIMIT = 1024 * 1024


def noise(size: int, seed: int = 1) -> bytes:
    """Bytes gzip cannot shrink, so a compressed body spans several reads."""
    return random.Random(seed).randbytes(size)


def read_all(body: bytes, gzipped: bool, limit: int = LIMIT) -> tuple[bytes, UploadReader]:
    reader = UploadReader(io.BytesIO(body), limit, gzipped)
    return b"".join(reader.chunks()), reader


def test_a_plain_body_is_passed_through_counted_and_digested() -> None:
    text, reader = read_all(CSV, gzipped=False)
    assert text == CSV
    assert reader.received == reader.produced == len(CSV)
    assert reader.digest.hexdigest() == hashlib.sha256(CSV).hexdigest()


def test_a_gzipped_body_is_decompressed_and_digested_as_its_text() -> None:
    body = gzip.compress(CSV)
    text, reader = read_all(body, gzipped=True)
    assert text == CSV
    assert (reader.received, reader.produced) == (len(body), len(CSV))
    # The same file sent plain or gzipped has one fingerprint (Idempotency-Key)
    assert reader.digest.hexdigest() == hashlib.sha256(CSV).hexdigest()


def test_a_large_body_arrives_in_bounded_pieces() -> None:
    data = noise(3 * READ_SIZE)
    chunks = list(UploadReader(io.BytesIO(gzip.compress(data)), 10 * READ_SIZE, True).chunks())
    assert b"".join(chunks) == data
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= READ_SIZE


def test_a_gzip_file_of_several_small_members_is_their_concatenation() -> None:
    # Given `cat a.csv.gz b.csv.gz` (gzip allows members back to back)
    head, rest = CSV[:100], CSV[100:]
    text, reader = read_all(gzip.compress(head) + gzip.compress(rest), gzipped=True)
    assert text == CSV and reader.produced == len(CSV)


def test_a_gzip_member_that_continues_past_a_read_is_decompressed_once() -> None:
    # Given a small member, then a member that spans the next reads of the body
    first, second = CSV, noise(2 * READ_SIZE)
    body = gzip.compress(first) + gzip.compress(second)
    assert len(body) > 2 * READ_SIZE
    # When it is read
    text, reader = read_all(body, gzipped=True, limit=16 * READ_SIZE)
    # Then the text is the two members' text, each byte once
    assert len(text) == len(first) + len(second)
    assert text == first + second
    assert reader.digest.hexdigest() == hashlib.sha256(first + second).hexdigest()


def test_a_truncated_later_member_is_refused() -> None:
    body = gzip.compress(CSV) + gzip.compress(noise(2 * READ_SIZE))[:-100]
    with pytest.raises(MalformedRequest, match="truncated"):
        read_all(body, gzipped=True, limit=16 * READ_SIZE)


def test_a_truncated_gzip_body_is_malformed() -> None:
    body = gzip.compress(CSV)
    with pytest.raises(MalformedRequest, match="truncated"):
        read_all(body[: len(body) // 2], gzipped=True)


def test_a_body_that_is_not_gzip_is_malformed() -> None:
    with pytest.raises(MalformedRequest, match="not valid gzip"):
        read_all(CSV, gzipped=True)


@pytest.mark.parametrize(
    ("body", "gzipped", "why"),
    [(b"", False, "empty"), (gzip.compress(b""), True, "empty"), (b"", True, "truncated")],
)
def test_an_empty_upload_is_malformed(body: bytes, gzipped: bool, why: str) -> None:
    with pytest.raises(MalformedRequest, match=why):
        read_all(body, gzipped)


def test_a_body_at_the_limit_is_taken_and_one_byte_more_is_too_large() -> None:
    text, _ = read_all(CSV, gzipped=False, limit=len(CSV))
    assert text == CSV
    with pytest.raises(PayloadTooLarge, match="IMPORT_MAX_BYTES"):
        read_all(CSV + b"x", gzipped=False, limit=len(CSV))


def test_a_compressed_body_over_the_limit_is_too_large() -> None:
    body = gzip.compress(noise(2 * READ_SIZE))
    with pytest.raises(PayloadTooLarge):
        read_all(body, gzipped=True, limit=READ_SIZE)


def test_a_gzip_bomb_is_stopped_at_the_limit_without_inflating_it() -> None:
    # Given 64 MiB of zeros gzipped into a tiny body
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < LIMIT
    reader = UploadReader(io.BytesIO(bomb), LIMIT, True)
    # When it is read
    with pytest.raises(PayloadTooLarge):
        for _ in reader.chunks():
            pass
    # Then its decompressed size counted, and no more than a piece past the limit was made
    assert reader.received < LIMIT
    assert LIMIT < reader.produced <= LIMIT + READ_SIZE


@pytest.mark.parametrize(("raw", "allowed"), [(None, 0), ("", 0), ("0", 0), ("25", 25)])
def test_max_bad_rows_is_a_non_negative_integer_defaulting_to_zero(
    raw: str | None, allowed: int
) -> None:
    assert max_bad_rows(raw) == allowed


@pytest.mark.parametrize("raw", ["-1", "1.5", "ten", " 3", "٣", "1" * 13])
def test_a_bad_max_bad_rows_is_an_invalid_request_naming_the_parameter(raw: str) -> None:
    with pytest.raises(InvalidRequest) as rejected:
        max_bad_rows(raw)
    assert rejected.value.errors == {"maxBadRows": ["Must be a non-negative integer."]}


@pytest.mark.parametrize(
    ("encoding", "gzipped"),
    [("", False), ("identity", False), ("gzip", True), ("x-gzip", True)],
)
def test_plain_and_gzip_encodings_are_accepted(encoding: str, gzipped: bool) -> None:
    assert check_encoding(encoding) is gzipped


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, br"])
def test_other_encodings_are_unsupported(encoding: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="Content-Encoding"):
        check_encoding(encoding)


def test_the_request_is_handed_to_the_kind_with_its_encoding_normalised() -> None:
    app = Flask(__name__)
    with app.test_request_context(
        "/api/imports?maxBadRows=3",
        method="POST",
        data=b"abc",
        headers={"Content-Type": "text/csv; charset=utf-8", "Content-Encoding": " GZip "},
    ) as ctx:
        got = incoming(ctx.request)
        assert (got.content_type, got.content_encoding) == ("text/csv", "gzip")
        assert got.content_length == 3 and got.query == {"maxBadRows": "3"}
        assert got.stream.read() == b"abc"


class Unread:
    """A request body that must not be read."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


class NoDatabase:
    """A kind context whose database must not be touched."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def engine(self) -> Any:
        raise AssertionError("the database was touched")


def upload(length: int | None, query: dict[str, str], encoding: str = "") -> Incoming:
    return Incoming("text/csv", encoding, length, cast(IO[bytes], Unread()), query)


@pytest.mark.parametrize(
    ("incoming_upload", "error"),
    [
        (upload(11, {}), PayloadTooLarge),  # Content-Length says it is over the limit
        (upload(5, {"maxBadRows": "x"}), InvalidRequest),
        (upload(5, {}, encoding="br"), UnsupportedMediaType),
    ],
)
def test_an_upload_refused_by_its_headers_is_never_read(
    incoming_upload: Incoming, error: type[Exception]
) -> None:
    ctx = NoDatabase(Settings(import_max_bytes=10))
    with pytest.raises(error):
        IMPORTS.accept_stream(incoming_upload, "job-1", ctx)
