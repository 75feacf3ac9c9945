"""Row and header rules of an import (API.md), one case per rule and boundary."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales.errors import HeaderInvalid
from sales.rows import RowParser, check_header

HEADER = ["sold_at", "region", "product", "category", "customer_id", "quantity", "unit_price"]
GOOD = {
    "sold_at": "2023-05-01 14:03:00",
    "region": "North",
    "product": "Tent 2P",
    "category": "Outdoor",
    "customer_id": "42",
    "quantity": "3",
    "unit_price": "179.00",
}
PARSER = RowParser(HEADER)


def row_with(**changes: str) -> list[str]:
    values = {**GOOD, **changes}
    return [values[c] for c in HEADER]


def parse_both(fields: list[str], parser: RowParser = PARSER) -> Any:
    """parse() and, where they answer, both fast paths, which must agree with it."""
    result = parser.parse(fields)
    for plain in (False, True):
        if plain and not all(f.isascii() and "\x00" not in f for f in fields):
            continue
        quick = parser.fast(plain)(fields)
        assert quick is None or quick == result, (plain, quick, result)
    return result


def stored(fields: list[str]) -> tuple[object, ...]:
    result = parse_both(fields)
    assert isinstance(result, tuple), result
    return result


def errors(fields: list[str]) -> dict[str, str]:
    result = parse_both(fields)
    assert isinstance(result, list), result
    return {e.column: e.message for e in result}


def test_a_good_row_is_converted_for_storage() -> None:
    # Given a row that follows every rule / When it is parsed / Then it is stored as is
    assert stored(row_with()) == (
        "2023-05-01 14:03:00.000000",
        "North",
        "Tent 2P",
        "Outdoor",
        "42",
        "3",
        "179.00",
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2023-05-01 14:03:00", "2023-05-01 14:03:00.000000"),
        ("2023-05-01T14:03:00", "2023-05-01 14:03:00.000000"),
        ("2023-05-01t14:03", "2023-05-01 14:03:00.000000"),
        ("2023-05-01T14:03:00.5", "2023-05-01 14:03:00.500000"),
        ("2023-05-01T14:03:00Z", "2023-05-01 14:03:00.000000"),
        ("2023-05-01T14:03:00+02:00", "2023-05-01 12:03:00.000000"),
        ("2023-05-01T01:30:00+05:30", "2023-04-30 20:00:00.000000"),
        ("2023-12-31T23:30:00-01:00", "2024-01-01 00:30:00.000000"),
        ("2023-05-01T14:03:00-00:00", "2023-05-01 14:03:00.000000"),
        ("20230501T140300", "2023-05-01 14:03:00.000000"),
        ("2024-02-29 00:00:00", "2024-02-29 00:00:00.000000"),
    ],
)
def test_timestamps_are_iso_8601_and_stored_in_utc(given: str, expected: str) -> None:
    # Given a sold_at with or without an offset / Then it is stored as naive UTC
    assert stored(row_with(sold_at=given))[0] == expected


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "is required"),
        ("2023-05-01", "needs a date and a time of day"),
        ("2023-05-01x14:03:00", "needs a date and a time of day"),
        ("01/05/2023 14:03", "needs a date and a time of day"),
        ("2023-13-01 00:00:00", "month must be in 1..12"),
        ("2023-02-29 00:00:00", "day is out of range"),
        ("2023-05-01 24:00:00", "hour must be in 0..23"),
        ("2023-05-01 14:03:00 ", "is not an ISO-8601 timestamp"),
        ("2023-05-01T14:03:00z", "is not an ISO-8601 timestamp"),
        ("yesterday", "needs a date and a time of day"),
        ("\u0662\u0660\u0662\u0663-05-01 14:03:00", "ASCII digits"),  # Arabic-Indic 2023
        ("0001-01-01T00:30:00+01:00", "out of range once converted to UTC"),
        ("9999-12-31T23:30:00-01:00", "out of range once converted to UTC"),
        ("2023-05-01 14:03:00\ufffd", "not valid UTF-8"),
    ],
)
def test_bad_timestamps_say_what_is_expected(given: str, says: str) -> None:
    assert says in errors(row_with(sold_at=given))["sold_at"]


@pytest.mark.parametrize("column", ["region", "product", "category"])
@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "is required: non-empty text"),
        ("   ", "is required: non-empty text"),
        ("x" * 101, "is 101 characters long; at most 100"),
        ("bad\ufffdbytes", "not valid UTF-8"),
        ("nul\x00here", "NUL"),
    ],
)
def test_text_must_be_non_empty_and_short(column: str, given: str, says: str) -> None:
    assert says in errors(row_with(**{column: given}))[column]


@pytest.mark.parametrize("column", ["region", "product", "category"])
@pytest.mark.parametrize("given", ["x", "x" * 100, "Café", 'Zoë\'s "best", new\nline', " North"])
def test_text_up_to_100_characters_of_any_kind_is_kept_as_is(column: str, given: str) -> None:
    assert given in stored(row_with(**{column: given}))


@pytest.mark.parametrize(
    ("column", "given"),
    [
        ("customer_id", "1"),
        ("customer_id", "999999999"),
        ("customer_id", "1000000000"),
        ("customer_id", "2147483647"),
        ("customer_id", "007"),
        ("quantity", "1"),
        ("quantity", "999999"),
        ("quantity", "1000000"),
        ("quantity", "0000001"),
    ],
)
def test_whole_numbers_at_their_bounds(column: str, given: str) -> None:
    # Stored as the checked digits: both databases read them into their integer column
    assert stored(row_with(**{column: given}))[HEADER.index(column)] == given


@pytest.mark.parametrize(
    ("column", "given", "says"),
    [
        ("customer_id", "", "is required"),
        ("customer_id", "0", "from 1 to 2147483647"),
        ("customer_id", "2147483648", "from 1 to 2147483647"),
        ("customer_id", "-5", "digits 0-9 only"),
        ("customer_id", "+5", "digits 0-9 only"),
        ("customer_id", " 5", "digits 0-9 only"),
        ("customer_id", "1_000", "digits 0-9 only"),
        ("customer_id", "4.0", "digits 0-9 only"),
        ("customer_id", "\u0664\u0662", "digits 0-9 only"),  # Arabic-Indic 42
        ("customer_id", "\uff14\uff12", "digits 0-9 only"),  # full-width 42
        ("quantity", "0", "from 1 to 1000000"),
        ("quantity", "1000001", "from 1 to 1000000"),
        ("quantity", "1e3", "digits 0-9 only"),
        ("quantity", "\u00b2", "digits 0-9 only"),  # superscript two
    ],
)
def test_bad_whole_numbers(column: str, given: str, says: str) -> None:
    assert says in errors(row_with(**{column: given}))[column]


@pytest.mark.parametrize(
    "given",
    ["0", "0.00", "12.5", "12.50", "5.", ".99", "9999999999.99", "00012.30", "000000000001.5"],
)
def test_prices_from_0_with_at_most_two_decimals(given: str) -> None:
    assert stored(row_with(unit_price=given))[6] == given


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "is required"),
        ("1.234", "more than two decimals"),
        ("0.001", "more than two decimals"),
        ("10000000000", "below 10000000000"),
        ("10000000000.00", "below 10000000000"),
        ("-1", "must not be negative"),
        ("-0.01", "must not be negative"),
        ("NaN", "a decimal number"),
        ("nan", "a decimal number"),
        ("Infinity", "a decimal number"),
        ("inf", "a decimal number"),
        ("1e3", "a decimal number"),
        ("1,50", "a decimal number"),
        ("1.2.3", "a decimal number"),
        (".", "a decimal number"),
        ("$5", "a decimal number"),
        ("\u0661\u0662.\u0665", "a decimal number"),  # Arabic-Indic 12.5
        (" 5", "a decimal number"),
    ],
)
def test_bad_prices(given: str, says: str) -> None:
    assert says in errors(row_with(unit_price=given))["unit_price"]


def test_every_bad_value_of_a_row_is_reported_at_once() -> None:
    found = errors(row_with(sold_at="soon", quantity="0", unit_price="1.999", region=""))
    assert set(found) == {"sold_at", "quantity", "unit_price", "region"}


def test_a_row_with_the_wrong_number_of_fields_is_one_error() -> None:
    found = PARSER.parse(["2023-05-01 14:03:00", "North"])
    assert isinstance(found, list) and len(found) == 1
    assert found[0].column == "" and "has 2 fields; the header has 7" in found[0].message
    assert PARSER.fast(True)(["a", "b"]) is None


def test_long_bad_values_are_cut_to_200_characters() -> None:
    (error,) = parse_both(row_with(region="y" * 5000))
    assert error.value == "y" * 200


def test_columns_in_any_order_and_an_optional_id() -> None:
    # Given a header in another order, with an id column
    header = ["unit_price", "id", *reversed(HEADER[:-1])]
    parser = RowParser(header)
    values = {**GOOD, "id": "17"}
    fields = [values[c] for c in header]
    # Then rows come out in the stored order, id first
    assert parser.stored_columns == ("id", *HEADER)
    assert parse_both(fields, parser) == (
        "17",
        "2023-05-01 14:03:00.000000",
        "North",
        "Tent 2P",
        "Outdoor",
        "42",
        "3",
        "179.00",
    )
    # And an empty id means "the database picks one"; a bad one is an error
    assert parse_both([{**values, "id": ""}[c] for c in header], parser)[0] is None
    assert parse_both([{**values, "id": "9223372036854775807"}[c] for c in header], parser)[0] == (
        "9223372036854775807"
    )
    for bad in ("0", "x", "-3", "9223372036854775808", "\u0661"):
        result = parse_both([{**values, "id": bad}[c] for c in header], parser)
        assert isinstance(result, list) and result[0].column == "id"


def test_header_problems_are_reported_by_column() -> None:
    assert check_header(HEADER) == {}
    assert check_header([*reversed(HEADER), "id"]) == {}
    assert check_header(["\ufeffsold_at", *HEADER[1:]]) == {}
    found = check_header(["sold_at", "region", "region", "Product", "colour", "quantity"])
    assert found["region"] == "appears more than once"
    assert found["Product"] == "unknown column; did you mean product?"
    assert found["colour"].startswith("unknown column; the columns are sold_at, region")
    assert found["product"] == found["category"] == "required column is missing"
    assert found["customer_id"] == found["unit_price"] == "required column is missing"
    assert "quantity" not in found and "sold_at" not in found
    assert set(check_header([])) == set(HEADER)
    with pytest.raises(HeaderInvalid) as caught:
        RowParser(["sold_at", "id", "id"])
    assert caught.value.errors["id"] == "appears more than once"


PIECES = st.sampled_from(
    [
        "",
        " ",
        "0",
        "1",
        "42",
        "1000001",
        "2147483648",
        "12.5",
        "1.234",
        ".",
        "-1",
        "NaN",
        "\u0662",
        "2023-05-01 14:03:00",
        "2023-05-01T14:03:00Z",
        "2023-05-01T14:03:00+01:00",
        "2023-05-01",
        "2023-02-30 10:00:00",
        "North",
        "x" * 101,
        "a\x00b",
        "\ufffd",
        "Café",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES | st.text(max_size=25), min_size=6, max_size=8))
def test_the_fast_paths_never_disagree_with_parse(fields: list[str]) -> None:
    # Given any row at all / Then a fast path answers None or exactly what parse() answers
    parse_both(fields)
    parse_both(fields, RowParser(["id", *HEADER]))
