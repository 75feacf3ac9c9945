"""Pure pieces of the HTTP protocol: Prefer, cursors, Bearer keys.

(The state table with cancellations is tested with the states, in test_states.py.)
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import parse_keys
from app.http import cursor
from app.http.auth import bearer_token, client_for
from app.http.prefer import applied, parse_wait


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["wait=10"], 10),
        (["respond-async, wait=5"], 5),
        (["WAIT = 7"], 7),
        (['wait="3"'], 3),
        (["wait=3; foo=bar"], 3),
        (["handling=lenient", "wait=2"], 2),
        (["wait=120"], 60),
        (["wait=0"], 0),
        (["wait=-1"], None),
        (["wait=abc"], None),
        (["wait"], None),
        (["waited=5"], None),
        (["wait=١٢"], None),  # non-ASCII digits are not delta-seconds
        ([], None),
    ],
)
def test_prefer_wait_parsing(values: list[str], expected: int | None) -> None:
    assert parse_wait(values, 60) == expected


def test_preference_applied_names_the_wait() -> None:
    assert applied(5) == "wait=5"


@given(st.text(max_size=200))
def test_prefer_parsing_never_raises(value: str) -> None:
    result = parse_wait([value], 60)
    assert result is None or 0 <= result <= 60


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False), st.uuids(version=4))
def test_cursor_round_trips(score: float, job: uuid.UUID) -> None:
    token = cursor.encode(score, str(job))
    assert token.isascii() and "=" not in token and "/" not in token
    assert cursor.decode(token) == (score, str(job))


@pytest.mark.parametrize(
    "token", ["", "abc", "!!!", "W1sxXV0", cursor.encode(1.0, "x").replace("x", "y"), "bnVsbA"]
)
def test_foreign_cursors_are_rejected(token: str) -> None:
    with pytest.raises(cursor.BadCursor):
        cursor.decode(token)


@given(st.text(max_size=100))
def test_cursor_decoding_only_raises_bad_cursor(token: str) -> None:
    try:
        score, job_id = cursor.decode(token)
    except cursor.BadCursor:
        return
    assert isinstance(score, float) and uuid.UUID(job_id)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  Bearer   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_keys_map_to_client_names() -> None:
    keys = parse_keys("alice:k1, bob:k2,,")
    assert keys == {"k1": "alice", "k2": "bob"}
    assert client_for("k2", keys) == "bob"
    assert client_for("k3", keys) is None and client_for(None, keys) is None


def test_bare_keys_get_a_stable_client_name_of_their_own() -> None:
    keys = parse_keys("k-one,k-two")
    assert set(keys) == {"k-one", "k-two"}
    assert len(set(keys.values())) == 2
    assert all(name.startswith("client-") for name in keys.values())
    assert parse_keys("k-one") == {"k-one": keys["k-one"]}  # the same name every time
