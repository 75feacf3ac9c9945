"""The CSV records of an upload, read chunk by chunk, with the file's physical line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sales.errors import HeaderInvalid


@dataclass
class Batch:
    """Consecutive records; `start` is the line the first one begins on (the header is line 1)."""

    start: int
    records: list[list[str]]
    # Records the csv module could not read, as (line, why); they end the batch.
    faults: list[tuple[int, str]] = field(default_factory=list)
    simple: bool = True  # every record is one line long

    def lines(self) -> Sequence[int]:
        """The line each record begins on."""
        if self.simple:
            return range(self.start, self.start + len(self.records))
        found, line = [], self.start
        for record in self.records:
            found.append(line)
            line += 1 + sum(map(_breaks, record))
        return found


def _breaks(value: str) -> int:
    # The line ends inside a quoted value, counted as the reader counts them (\r\n is one).
    return value.count("\n") + value.count("\r") - value.count("\r\n")


class Records:
    """A CSV body from its chunks: decoded incrementally, never held whole in memory."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        # Bytes that are not UTF-8 become U+FFFD, which the row rules reject with a
        # message naming the column: a stray byte costs one bad row, not the import.
        self.bytes_read = 0
        # True while every chunk so far was ASCII without NUL: the rows parsed since can
        # skip those checks (rows.RowParser.fast). Read it after taking a batch.
        self.plain = True
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._reader = csv.reader(itertools.chain.from_iterable(self._texts(chunks)))
        self._next_line = 1

    def _texts(self, chunks: Iterable[bytes]) -> Iterator[io.StringIO]:
        # Whole lines only, so a \r\n split between two chunks stays one line end.
        carry = ""
        for chunk in chunks:
            self.bytes_read += len(chunk)
            text = carry + self._decoder.decode(chunk)
            cut = _after_last_line_end(text)
            carry = text[cut:]
            yield self._lines(text[:cut])
        yield self._lines(carry + self._decoder.decode(b"", final=True))

    def _lines(self, text: str) -> io.StringIO:
        if self.plain and not (text.isascii() and "\x00" not in text):
            self.plain = False
        return io.StringIO(text, newline="")  # iterates by line, keeping \r, \n and \r\n

    def header(self) -> list[str]:
        """The first record; raises HeaderInvalid when there is none."""
        try:
            header = next(self._reader, None)
        except csv.Error as exc:
            raise HeaderInvalid({"": f"the header row cannot be read: {exc}"}) from None
        if not header:
            raise HeaderInvalid({"": "the first line must be a header row naming the columns"})
        self._next_line = self._reader.line_num + 1
        return header

    def batches(self, size: int) -> Iterator[Batch]:
        """The records after the header, `size` at a time (blank lines are empty records)."""
        reader = self._reader
        while True:
            batch = Batch(self._next_line, [])
            try:
                batch.records.extend(itertools.islice(reader, size))
            except csv.Error as exc:
                # extend() kept what came before the fault; the reader goes on after it.
                batch.simple = False
                lines = batch.lines()
                start = (
                    lines[-1] + 1 + sum(map(_breaks, batch.records[-1])) if lines else batch.start
                )
                batch.faults.append((start, f"cannot be read as CSV: {exc}"))
            else:
                if not batch.records:
                    return
                batch.simple = reader.line_num - batch.start + 1 == len(batch.records)
            self._next_line = reader.line_num + 1
            yield batch


def _after_last_line_end(text: str) -> int:
    newline = text.rfind("\n") + 1
    # A lone \r ends a line too, unless it is the last character: its \n may follow.
    cr = text.rfind("\r", newline, len(text) - 1) + 1
    return max(newline, cr)
