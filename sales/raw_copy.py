"""PostgreSQL's fast way in: the upload as it is into a scratch table by COPY, checked in SQL.

A file takes this way while its text has no double quote, backslash, NUL, lone carriage
return or blank line before its end: every line is then one record, which the csv module
and COPY both split at its commas alike, so a row's line is its place in the file plus one
(the header is line 1). Any other file (or a line of the wrong width, which COPY refuses)
goes row by row through the loader instead, from its first row: nothing of this way is kept.

The SQL check is conservative like RowParser.fast: a row it passes is exactly what parse()
would store; any other row is handed to parse(), which stores it or says why it is bad.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection

from sales.records import whole_lines
from sales.rows import MAX_TEXT, RowParser

RAW = "import_raw"
SUSPECTS = "import_suspects"
_LINE = "import_raw_line"

# (rows so far, bytes so far) -> True to stop (cancelled)
PieceDone = Callable[[int, int], bool]


class NotPlain(Exception):
    """The file cannot take the COPY way; it is read row by row instead."""


class Stopped(Exception):
    """Cancelled while copying."""


@dataclass
class RawFile:
    """A file copied into import_raw: its parser and how many rows it has."""

    parser: RowParser
    rows: int

    def field(self, column: str) -> str:
        """The import_raw column that holds one of the file's columns."""
        return f"f{self.parser.columns.index(column)}"

    def good(self) -> str:
        """SQL: true for a row import_raw holds that parse() would store as the cast gives."""
        # No regular expression on the hot path: PostgreSQL's took 4 s for 800,000
        # timestamps; translate() and substr() a fraction of that.
        checks = [_time(self.field("sold_at"))]
        checks += [_text(self.field(c)) for c in ("region", "product", "category")]
        checks.append(_whole(self.field("customer_id"), 9))
        checks.append(_whole(self.field("quantity"), 6))
        checks.append(_price(self.field("unit_price")))
        if self.parser.has_id:
            given = self.field("id")
            checks.append(f"({given} IS NULL OR {_whole(given, 18)})")
        return "COALESCE(" + " AND ".join(f"({c})" for c in checks) + ", false)"

    def stored(self) -> list[str]:
        """SQL: the stored columns (parser.stored_columns) of a row that is good()."""
        casts = {"sold_at": "timestamp", "customer_id": "integer", "quantity": "integer"}
        casts |= {"unit_price": "numeric(12, 2)", "id": "bigint"}
        return [
            f"{self.field(c)}::{casts[c]}" if c in casts else self.field(c)
            for c in self.parser.stored_columns
        ]


def _digits_as_zero(c: str) -> str:
    return f"translate({c}, '123456789', '000000000')"


def _time(s: str) -> str:
    # The fast path's three spellings (a space or a T, and a Z after a T); the calendar
    # and the clock by integer arithmetic inside the CASE, so that no cast can fail.
    shapes = "'0000-00-00 00:00:00', '0000-00-00T00:00:00', '0000-00-00T00:00:00Z'"
    y, m, d = f"substr({s}, 1, 4)::int", f"substr({s}, 6, 2)::int", f"substr({s}, 9, 2)::int"
    # (mod(), not %: the driver reads % as a placeholder.)
    leap = (
        f"CASE WHEN mod({y}, 4) = 0 AND (mod({y}, 100) <> 0 OR mod({y}, 400) = 0) THEN 1 ELSE 0 END"
    )
    days = f"CASE WHEN {m} = 2 THEN 28 + {leap} ELSE 30 + mod({m} + {m} / 8, 2) END"
    return (
        f"CASE WHEN {_digits_as_zero(s)} IN ({shapes}) THEN substr({s}, 1, 4) <> '0000'"
        f" AND {m} BETWEEN 1 AND 12 AND ({d} BETWEEN 1 AND 28 OR ({d} > 28 AND {d} <= {days}))"
        f" AND substr({s}, 12, 2)::int <= 23 AND substr({s}, 15, 2)::int <= 59"
        f" AND substr({s}, 18, 2)::int <= 59 ELSE false END"
    )


# The characters str.isspace() finds in ASCII.
_ASCII_SPACE = "E' \\t\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x1f'"


def _text(c: str) -> str:
    # Not all whitespace (str.isspace): for ASCII text, what btrim() leaves of it; else
    # one printable ASCII character that is not a space. U+FFFD is a byte that was not
    # UTF-8. PostgreSQL's text holds no NUL; char_length counts code points as len() does.
    ascii_only = f"octet_length({c}) = char_length({c})"
    other = f"{c} ~ '[!-~]' AND strpos({c}, chr(65533)) = 0"
    return (
        f"char_length({c}) <= {MAX_TEXT} AND CASE WHEN {ascii_only}"
        f" THEN btrim({c}, {_ASCII_SPACE}) <> '' ELSE {other} END"
    )


def _whole(c: str, digits: int) -> str:
    # 1 to `digits` ASCII digits, no leading zero: within every bound of RowParser.
    return (
        f"translate({c}, '0123456789', '') = '' AND length({c}) BETWEEN 1 AND {digits}"
        f" AND left({c}, 1) <> '0'"
    )


def _price(c: str) -> str:
    # Up to 10 digits, then at most a point and one or two digits.
    point = f"strpos({c}, '.')"
    return (
        f"CASE translate({c}, '0123456789', '') WHEN '' THEN length({c}) BETWEEN 1 AND 10"
        f" WHEN '.' THEN {point} BETWEEN 2 AND 11 AND length({c}) - {point} BETWEEN 1 AND 2"
        " ELSE false END"
    )


def copy_raw(
    conn: Connection, chunks: Iterable[bytes], piece_done: PieceDone, progress_rows: int
) -> RawFile | None:
    """COPY the upload into import_raw in conn's transaction; None when it cannot go this way.

    piece_done is called about every `progress_rows` rows. On None the transaction is
    rolled back (nothing of the attempt is kept); so it is when Stopped (cancelled) or
    any other error propagates.
    """
    if not conn.in_transaction():
        conn.begin()  # the driver's COPY below is invisible to SQLAlchemy
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        # One COPY per piece: the next chunk is read on this connection in between.
        pieces = _plain_pieces(whole_lines(chunks))
        header = next(pieces)[0]
        parser = RowParser(header.split(","))
        columns = ", ".join(f"f{i}" for i in range(parser.width))
        conn.exec_driver_sql(f"CREATE TEMPORARY SEQUENCE {_LINE} START 2")
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {RAW} (line bigint NOT NULL DEFAULT nextval('{_LINE}'), "
            + ", ".join(f"f{i} text" for i in range(parser.width))
            + ")"
        )
        rows, stop = 0, False
        sql = f"COPY {RAW} ({columns}) FROM STDIN WITH (FORMAT csv)"
        for text, read in pieces:
            if text.count(",") != (parser.width - 1) * text.count("\n"):
                raise NotPlain("a line of another width")
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for part in _parts(text, progress_rows):
                    copy.write(part)
                    rows += part.count("\n")
                    if piece_done(rows, read):
                        stop = True
                        break
            if stop:
                raise Stopped
    except (NotPlain, psycopg.errors.BadCopyFileFormat):
        conn.rollback()
        return None
    except BaseException:
        conn.rollback()
        raise
    return RawFile(parser, rows)


def _parts(text: str, rows: int) -> Iterator[str]:
    # `rows` lines at a time (text ends with a line end): cut where their mean length
    # says, then moved line by line to the exact count.
    size = max(1, len(text) * rows // max(1, text.count("\n")))
    start = 0
    while start < len(text):
        end = text.find("\n", min(start + size, len(text)) - 1) + 1 or len(text)
        have = text.count("\n", start, end)
        while have < rows and end < len(text):
            end = text.find("\n", end) + 1
            have += 1
        while have > rows:
            end = text.rfind("\n", start, end - 1) + 1
            have -= 1
        yield text[start:end]
        start = end


def _plain_pieces(texts: Iterator[tuple[str, int]]) -> Iterator[tuple[str, int]]:
    """The header line first, then the file as COPY text (lines ending in \\n); NotPlain."""
    text, read = next(texts)
    head, newline, text = text.partition("\n")
    head = head.removesuffix("\r")
    if not (newline and head) or '"' in head or "\r" in head:
        raise NotPlain("the header is not one plain line")
    yield head, read
    ended = False  # blank lines came last so far: only more blank lines may follow
    for piece in _texts_after(text, read, texts):
        text, read = piece
        if '"' in text or "\\" in text or "\x00" in text:
            raise NotPlain("quotes, backslashes or NUL")
        if "\r" in text:
            if text.count("\r") != text.count("\r\n"):
                raise NotPlain("a lone carriage return")
            text = text.replace("\r\n", "\n")
        body = text.rstrip("\n")
        if not body:
            ended = ended or bool(text)
            continue
        if ended or body.startswith("\n") or "\n\n" in body:
            raise NotPlain("a blank line")
        ended = len(text) - len(body) > 1
        yield body + "\n", read


def _texts_after(
    first: str, read: int, texts: Iterator[tuple[str, int]]
) -> Iterator[tuple[str, int]]:
    yield first, read
    yield from texts


def suspects(conn: Connection, raw: RawFile, page: int) -> Iterator[list[tuple[object, ...]]]:
    """The rows good() does not pass, in line order, a page at a time: (line, field, ...)."""
    fields = ", ".join(f"f{i}" for i in range(raw.parser.width))
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {SUSPECTS} AS"  # noqa: S608 (names and checks of our own)
        f" SELECT line, {fields} FROM {RAW} WHERE NOT {raw.good()}"
    )
    conn.exec_driver_sql(f"CREATE INDEX ON {SUSPECTS} (line)")
    after = 0
    while True:
        found = conn.exec_driver_sql(
            f"SELECT line, {fields} FROM {SUSPECTS}"  # noqa: S608
            f" WHERE line > %(after)s ORDER BY line LIMIT {page}",
            {"after": after},
        ).all()
        if found:
            yield [tuple(r) for r in found]
        if len(found) < page:
            return
        after = found[-1][0]


def store_good(conn: Connection, raw: RawFile, target: str, with_line: bool) -> None:
    """INSERT every row of import_raw but the suspects into the staged rows table `target`."""
    # The suspects (usually few) are left out by line: the check runs once per row.
    names = (["line"] if with_line else []) + list(raw.parser.stored_columns)
    values = (["r.line"] if with_line else []) + raw.stored()
    conn.exec_driver_sql(
        f"INSERT INTO {target} ({', '.join(names)})"  # noqa: S608
        f" SELECT {', '.join(values)} FROM {RAW} r"
        f" WHERE NOT EXISTS (SELECT FROM {SUSPECTS} s WHERE s.line = r.line)"
    )
