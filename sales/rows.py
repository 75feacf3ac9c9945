"""The rules of an import's CSV (API.md): its header, and each row checked and readied to store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import NamedTuple

from sales.errors import HeaderInvalid
from sales.schema import SALES_COLUMNS, stored_timestamp

REQUIRED = SALES_COLUMNS
OPTIONAL = ("id",)
KNOWN = frozenset(REQUIRED + OPTIONAL)
MAX_TEXT = 100
MAX_QUANTITY = 1_000_000
PRICE_LIMIT = 10**10
# The columns' storage limits (PostgreSQL integer and bigint): a value past them would
# abort the whole load, so it is a bad row instead.
MAX_CUSTOMER_ID = 2**31 - 1
MAX_ID = 2**63 - 1
SHOWN = 200  # characters of a bad value kept for the errors resource
EXAMPLE_TIME = "an ISO-8601 timestamp such as 2023-05-01T14:03:00Z"
EXAMPLE_PRICE = "a decimal number from 0 with at most two decimals, such as 12.50"

# A stored row, values as the bulk writer takes them: sold_at as schema.stored_timestamp
# text, then the checked text of every other value (both databases read numbers from text,
# SQLite into the same INTEGER and REAL values a Python int or float would give), id first
# when the file has ids (None where it is empty).
StoredRow = tuple[str | None, ...]


class FieldError(NamedTuple):
    """Why one value of a row is bad (column "" when the row as a whole is)."""

    column: str
    value: str
    message: str


def check_header(columns: Sequence[str]) -> dict[str, str]:
    """What is wrong with a header row, by column name; empty when nothing is."""
    names = list(columns)
    if names:
        names[0] = names[0].removeprefix("\ufeff")
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for name in names:
        if name not in KNOWN:
            hint = name.strip().lower()
            errors[name] = (
                f"unknown column; did you mean {hint}?"
                if hint in KNOWN
                else f"unknown column; the columns are {', '.join(REQUIRED)} and optionally id"
            )
        elif name in seen:
            errors[name] = "appears more than once"
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            errors[name] = "required column is missing"
    return errors


def _time(value: str) -> str:
    if not value:
        raise ValueError(f"is required: {EXAMPLE_TIME}")
    if "\ufffd" in value:
        raise ValueError("is not valid UTF-8")
    if not value.isascii():
        raise ValueError(f"must be written with ASCII digits: {EXAMPLE_TIME}")
    # fromisoformat takes any character between date and time, and a bare date.
    extended = value[4:5] == "-"
    separator = value[10:11] if extended else value[8:9]
    if separator not in ("T", "t", " ") or (separator == " " and not extended):
        raise ValueError(f"needs a date and a time of day: {EXAMPLE_TIME}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        why = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        raise ValueError(f"is not {EXAMPLE_TIME}{why}") from None
    if parsed.tzinfo is not None:
        offset = parsed.utcoffset()
        assert offset is not None
        try:
            parsed = parsed.replace(tzinfo=None) - offset
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return stored_timestamp(parsed)


def _text(value: str) -> str:
    if not value or value.isspace():
        raise ValueError("is required: non-empty text")
    if "\ufffd" in value:
        raise ValueError("is not valid UTF-8")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    if len(value) > MAX_TEXT:
        raise ValueError(f"is {len(value)} characters long; at most {MAX_TEXT} are allowed")
    return value


def _whole(value: str, low: int, high: int, what: str) -> str:
    if not value:
        raise ValueError(f"is required: {what}")
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"must be {what}, written with the digits 0-9 only")
    if not low <= int(value) <= high:
        raise ValueError(f"must be {what}")
    return value


def _customer(value: str) -> str:
    return _whole(value, 1, MAX_CUSTOMER_ID, f"a whole number from 1 to {MAX_CUSTOMER_ID}")


def _quantity(value: str) -> str:
    return _whole(value, 1, MAX_QUANTITY, f"a whole number from 1 to {MAX_QUANTITY}")


def _price(value: str) -> str:
    if not value:
        raise ValueError(f"is required: {EXAMPLE_PRICE}")
    whole, _, cents = value.removeprefix("-").partition(".")
    digits = whole + cents
    if not (digits.isascii() and digits.isdigit() and value.count(".") <= 1):
        raise ValueError(f"must be {EXAMPLE_PRICE}")
    if value.startswith("-"):
        raise ValueError(f"must not be negative: {EXAMPLE_PRICE}")
    if len(cents) > 2:
        raise ValueError(f"has more than two decimals: {EXAMPLE_PRICE}")
    if int(whole or "0") >= PRICE_LIMIT:
        raise ValueError(f"must be below {PRICE_LIMIT}")
    return value


def _id(value: str) -> str | None:
    if not value:
        return None  # optional: the database picks one
    return _whole(value, 1, MAX_ID, f"a whole number from 1 to {MAX_ID}, or empty")


CONVERT: dict[str, Callable[[str], str | None]] = {
    "id": _id,
    "sold_at": _time,
    "region": _text,
    "product": _text,
    "category": _text,
    "customer_id": _customer,
    "quantity": _quantity,
    "unit_price": _price,
}


def _fast_plain(f: Sequence[str]) -> StoredRow | None:
    # The hot path, for text known to be ASCII without NUL or U+FFFD: the stored row,
    # or None whenever anything is unusual (parse() then decides, with reasons). Only
    # C-level calls, no regular expressions, no int() or float(): every test here is
    # one that proves the value within its bounds.
    try:
        s, region, product, category, c, q, p = f
        shape = s[4::3]  # the separators of YYYY-MM-DD HH:MM:SS
        if shape == "-- ::" and len(s) == 19:
            dt.datetime.fromisoformat(s)  # checks the calendar and the clock
            stored = s + ".000000"
        elif shape == "--T::" and len(s) == 19:
            dt.datetime.fromisoformat(s)
            stored = s[:10] + " " + s[11:] + ".000000"
        elif shape == "--T::Z" and len(s) == 20:  # UTC already
            dt.datetime.fromisoformat(s)
            stored = s[:10] + " " + s[11:19] + ".000000"
        else:
            stored = _time(s)
        if not (0 < len(region) <= MAX_TEXT and 0 < len(product) <= MAX_TEXT):
            return None
        if not 0 < len(category) <= MAX_TEXT:
            return None
        if region.isspace() or product.isspace() or category.isspace():
            return None
        # Up to 9 and 6 digits, no leading zero: 1..999,999,999 and 1..999,999.
        if not (c.isdigit() and q.isdigit() and len(c) < 10 and len(q) < 7):
            return None
        if c[0] == "0" or q[0] == "0":
            return None
        whole, _, cents = p.partition(".")
        # Up to 10 digits before the point (below 10^10), 2 after, and none missing.
        if not (whole and len(whole) <= 10 and len(cents) <= 2 and p[-1] != "."):
            return None
        if not (whole + cents).isdigit():
            return None
        return (stored, region, product, category, c, q, p)
    except (ValueError, IndexError):
        return None


def _fast_any(f: Sequence[str]) -> StoredRow | None:
    # Any text: the ASCII, NUL and U+FFFD checks the plain path may skip.
    try:
        s, region, product, category, c, q, p = f
    except ValueError:
        return None
    if not (s + c + q + p).isascii():
        return None
    texts = region + product + category
    if "\x00" in texts or "\ufffd" in texts:
        return None
    return _fast_plain(f)


class RowParser:
    """Checks and converts the rows of one file, whose header fixed the order of its columns."""

    def __init__(self, columns: Sequence[str]) -> None:
        errors = check_header(columns)
        if errors:
            raise HeaderInvalid(errors)
        names = [c.removeprefix("\ufeff") for c in columns]
        self.has_id = "id" in names
        self.width = len(names)
        self.columns = tuple(names)
        # What parse() returns, in this order.
        self.stored_columns = (("id",) if self.has_id else ()) + REQUIRED
        positions = [names.index(c) for c in self.stored_columns]
        self._pick = itemgetter(*positions)
        self._converters = [(c, names.index(c), CONVERT[c]) for c in self.stored_columns]
        self._standard = positions == list(range(len(REQUIRED))) and self.width == len(REQUIRED)

    def parse(self, fields: Sequence[str]) -> StoredRow | list[FieldError]:
        """The stored row, or every reason the row is bad."""
        if len(fields) != self.width:
            shown = ",".join(fields)[:SHOWN]
            why = (
                f"has {len(fields)} fields; the header has {self.width} ({','.join(self.columns)})"
            )
            return [FieldError("", shown, why)]
        stored: list[str | None] = []
        errors: list[FieldError] = []
        for column, position, convert in self._converters:
            value = fields[position]
            try:
                stored.append(convert(value))
            except ValueError as exc:
                errors.append(FieldError(column, value[:SHOWN], str(exc)))
        return errors or tuple(stored)

    def fast(self, plain: bool) -> Callable[[Sequence[str]], StoredRow | None]:
        """The hot path: parse()'s stored row, or None for "ask parse()"; see `plain` below."""
        # plain=True promises text that is ASCII without NUL or U+FFFD (Records.plain).
        core = _fast_plain if plain else _fast_any
        width, pick = self.width, self._pick
        if self._standard:
            return core
        if not self.has_id:

            def reordered(f: Sequence[str]) -> StoredRow | None:
                return core(pick(f)) if len(f) == width else None

            return reordered

        def with_id(f: Sequence[str]) -> StoredRow | None:
            if len(f) != width:
                return None
            picked = pick(f)
            row = core(picked[1:])
            if row is None:
                return None
            given = picked[0]
            if not given:
                return (None, *row)
            if given.isascii() and given.isdigit() and len(given) < 19 and given[0] != "0":
                return (given, *row)
            return None

        return with_id
