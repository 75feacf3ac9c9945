"""Bodies that never sit whole in memory: CSV uploads read in chunks, downloads to a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

FileSource = str | os.PathLike[str] | IO[bytes]


@dataclass
class Upload:
    """A file to send: from a path (re-opened on every retry) or an open binary file.

    `compress` gzips the bytes on the way; `encoded` says the bytes on the wire are gzip
    (`Content-Encoding: gzip`); `size` is their length when known without reading them.
    """

    source: FileSource
    compress: bool = False
    encoded: bool = False
    size: int | None = None
    _start: int = 0
    _sent: bool = field(default=False, repr=False)

    @classmethod
    def of(cls, source: FileSource, gzip: bool | None = None) -> Upload:
        """An upload of `source`; gzip None sends a gzip file as such, True gzips a plain one."""
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            with path.open("rb") as f:
                already = f.read(2) == GZIP_MAGIC
            size: int | None = path.stat().st_size
            start = 0
        else:
            start, size, already = _probe(source)
        encoded = already if gzip is None else gzip
        compress = bool(gzip) and not already
        return cls(source, compress, encoded, None if compress else size, start)

    @property
    def restartable(self) -> bool:
        """True when the whole body can be sent again (a path, or a seekable file)."""
        if isinstance(self.source, (str, os.PathLike)):
            return True
        return self.source.seekable()

    def chunks(self) -> Iterator[bytes]:
        """The body, chunk by chunk, from its start (ValueError if it cannot be restarted)."""
        if self._sent and not self.restartable:
            raise ValueError("this upload is a stream that cannot be sent twice")
        self._sent = True
        return self._gzip(self._raw()) if self.compress else self._raw()

    def _raw(self) -> Iterator[bytes]:
        src = self.source
        if isinstance(src, (str, os.PathLike)):
            with open(src, "rb") as f:
                yield from iter(lambda: f.read(CHUNK), b"")
            return
        if src.seekable():
            src.seek(self._start)
        yield from iter(lambda: src.read(CHUNK), b"")

    @staticmethod
    def _gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
        packer = zlib.compressobj(wbits=31)  # 31: a gzip header and trailer
        for chunk in chunks:
            out = packer.compress(chunk)
            if out:
                yield out
        yield packer.flush()


def _probe(f: IO[bytes]) -> tuple[int, int | None, bool]:
    """Where a seekable file stands, how many bytes are left, whether they start as gzip."""
    if not f.seekable():
        return 0, None, False
    start = f.tell()
    head = f.read(2)
    end = f.seek(0, os.SEEK_END)
    f.seek(start)
    return start, end - start, head == GZIP_MAGIC


@dataclass
class Sink:
    """Where a downloaded body goes: a path (written beside it, renamed when whole) or a file."""

    target: str | os.PathLike[str] | IO[bytes]

    @property
    def restartable(self) -> bool:
        """True when a broken download can be written again from the start."""
        return isinstance(self.target, (str, os.PathLike))

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """A file to write the body to; a path is replaced only once the body is complete."""
        if not isinstance(self.target, (str, os.PathLike)):
            yield self.target
            self.target.flush()
            return
        path = Path(self.target)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
