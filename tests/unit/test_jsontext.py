"""jobs/jsontext.py: orjson's JSON, and the standard library's in the same form where
orjson refuses a value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from jobs import jsontext
from jobs.store.record import JobRecord


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUES = [
    {"b": "Île-de-France", "a": [1, 2.5, None, True], "c": {"z": 1, "y": 'it\'s "x"'}},
    [{"k": "€"}, -(2**63), 2**64 - 1, 0.1, ""],
    {"nested": {"list": [1, {"deep": [None]}]}, "text": "x" * 2000},
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_the_text_reads_back_as_the_value_in_compact_utf8(value: object, sort_keys: bool) -> None:
    text = jsontext.dumps(value, sort_keys=sort_keys)
    assert json.loads(text) == value
    # the standard library's compact, unescaped form, keys sorted when asked
    assert text == json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=False)


def test_keys_are_sorted_at_every_depth_only_when_asked() -> None:
    value = {"b": 1, "a": {"d": 2, "c": 3}}
    assert jsontext.dumps(value) == '{"b":1,"a":{"d":2,"c":3}}'
    assert jsontext.dumps(value, sort_keys=True) == '{"a":{"c":3,"d":2},"b":1}'


def test_an_integer_beyond_64_bits_is_written_by_the_standard_library_alike() -> None:
    value = {"big": 10**20, "b": "Île", "a": -(2**70)}
    text = jsontext.dumps(value, sort_keys=True)
    assert text == '{"a":-1180591620717411303424,"b":"Île","big":100000000000000000000}'
    assert json.loads(text) == value


def test_what_the_standard_library_cannot_write_is_refused_as_it_refuses_it() -> None:
    for value in ({"at": dt.datetime(2026, 12, 4, tzinfo=dt.UTC)}, [Point(1, 2)], {1.5j}):
        with pytest.raises(TypeError):
            json.dumps(value)
        with pytest.raises(TypeError):
            jsontext.dumps(value)


def test_a_records_fields_round_trip_through_the_text() -> None:
    record = JobRecord(
        id="j1",
        kind="report",
        type="noop",
        parameters={"region": "Île-de-France", "big": 10**20, "rate": 1e-7},
        owner="alice",
        created_at=1.5,
        webhook={"url": "https://example.com/h", "events": ["completed"]},
    )
    assert JobRecord.from_hash(record.to_hash()) == record
