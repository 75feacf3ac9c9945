"""The web half of imports: stream a CSV upload (gzip or not) into staging, checking it.

Nothing is accepted before the header row is checked, and the body is never held in
memory: it is read in pieces, decompressed as it arrives and staged in the sales
database (which web and worker hosts both reach) chunk by chunk. Any rejection removes
what was staged.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from jobs.errors import InvalidRequest, MalformedRequest, PayloadTooLarge, UnsupportedMediaType
from sales.errors import HeaderInvalid
from sales.rows import check_header
from sales.staging import read_header

READ_SIZE = 256 * 1024  # bytes read from the request at a time
HEADER_LIMIT = 64 * 1024  # the header row must fit in this many bytes
ENCODINGS = {"", "identity", "gzip", "x-gzip"}


def max_bad_rows(raw: str | None) -> int:
    """The `maxBadRows` query parameter: a non-negative integer (default 0)."""
    if raw is None or raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise InvalidRequest(
            "The request did not validate; see `errors` for each field.",
            {"maxBadRows": ["Must be a non-negative integer."]},
        )
    return int(raw)


def check_encoding(encoding: str) -> bool:
    """True for gzip, False for none; 415 for any other Content-Encoding."""
    if encoding not in ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not accepted; send the CSV as it is or gzipped."
        )
    return encoding in ("gzip", "x-gzip")


@dataclass
class UploadReader:
    """Reads a request body: counts and limits it, decompresses it, digests what it yields."""

    stream: IO[bytes]
    limit: int
    gzipped: bool
    received: int = 0
    produced: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def chunks(self) -> Iterator[bytes]:
        """The CSV text's bytes, piece by piece; raises a RequestRejected on a bad body."""
        inflate = zlib.decompressobj(wbits=31) if self.gzipped else None
        while piece := self.stream.read(READ_SIZE):
            self.received += len(piece)
            self._check_limit(self.received)
            if inflate is None:
                yield self._emit(piece)
                continue
            while piece:
                if inflate.eof:  # another gzip member follows the one that ended
                    inflate = zlib.decompressobj(wbits=31)
                try:
                    # Bounded output per call: a gzip bomb cannot blow up memory.
                    out = inflate.decompress(piece, READ_SIZE)
                except zlib.error as exc:
                    raise MalformedRequest(f"The body is not valid gzip: {exc}.") from None
                piece = inflate.unconsumed_tail or inflate.unused_data
                if out:
                    yield self._emit(out)
        if inflate is not None and not inflate.eof:
            raise MalformedRequest("The gzip stream ends early: the upload is truncated.")
        if self.produced == 0:
            raise MalformedRequest("The upload is empty; send a CSV file with a header row.")

    def _emit(self, data: bytes) -> bytes:
        self.produced += len(data)
        self._check_limit(self.produced)
        self.digest.update(data)
        return data

    def _check_limit(self, size: int) -> None:
        if size > self.limit:
            raise PayloadTooLarge(
                f"The upload is larger than this service accepts ({self.limit} bytes, "
                "IMPORT_MAX_BYTES); split the file into smaller imports."
            )


def with_checked_header(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass the chunks through, once the header row has been read and checked (422)."""
    head = b""
    for chunk in chunks:
        head += chunk
        if b"\n" in head or len(head) > HEADER_LIMIT:
            break
    try:
        problems = check_header(read_header(head[:HEADER_LIMIT]))
    except HeaderInvalid as exc:
        problems = exc.errors
    if problems:
        raise InvalidRequest(
            "The CSV header row does not match the sales columns; see `errors` by column.",
            {column or "header": [message] for column, message in problems.items()},
        )
    yield head
    yield from chunks
