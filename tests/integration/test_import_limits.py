"""IMPORT_MAX_BYTES through the real web (gunicorn): an upload over the limit is a 413
problem+json, whether its Content-Length says so, it is streamed without one, or it is
gzip that inflates past the limit, and it leaves no job, no queued task, nothing staged."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
import requests

from tests.integration.imports import ImportStack, csv_text, import_stack, post_import, rows_in

pytestmark = pytest.mark.integration

DB = 6  # shared with test_import_memory.py's module, never at the same time
LIMIT = 64 * 1024


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ImportStack]:
    """The web alone (no worker: an accepted import would stay queued, visibly)."""
    tmp = tmp_path_factory.mktemp(f"limits-{request.param}")
    env = {"IMPORT_MAX_BYTES": str(LIMIT), "WEB_CONCURRENCY": "1"}
    with import_stack(tmp, request.param, redis_url, DB, env, workers=0, rows=1_000) as stack:
        yield stack


def over_the_limit() -> bytes:
    """A valid CSV file a little over LIMIT."""
    body = csv_text(rows_in(2038, 2_000)).encode()
    assert LIMIT < len(body) < 3 * LIMIT
    return body


def in_pieces(body: bytes, size: int = 8 * 1024) -> Iterator[bytes]:
    """The body sent chunked (no Content-Length), as a client streaming a file would."""
    for i in range(0, len(body), size):
        yield body[i : i + size]


def assert_too_large(resp: requests.Response) -> None:
    assert resp.status_code == 413, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == 413
    assert f"({LIMIT} bytes" in problem["detail"]  # the limit in force, so the client can act


def test_a_body_under_the_limit_is_taken(limited: ImportStack) -> None:
    # Given a file well under the limit (so the limit below is the one in force, not a bug)
    before = limited.left_behind()
    resp = post_import(limited.base, csv_text(rows_in(2038, 100)))
    # Then it is accepted and queued for a worker
    assert resp.status_code == 202, resp.text
    jobs, queued, _, rows = limited.left_behind()
    assert (jobs, queued, rows) == (before[0] + 1, before[1] + 1, before[3])


def test_a_body_whose_length_is_over_the_limit_is_413_and_leaves_nothing(
    limited: ImportStack,
) -> None:
    before = limited.left_behind()
    # When a file over the limit is posted with its Content-Length
    resp = post_import(limited.base, over_the_limit())
    # Then it is a 413 problem and nothing was created, queued, staged or imported
    assert_too_large(resp)
    assert limited.left_behind() == before


def test_a_streamed_body_that_grows_past_the_limit_is_413_and_leaves_nothing(
    limited: ImportStack,
) -> None:
    before = limited.left_behind()
    # When the same file is streamed chunked, so only reading it shows its size
    resp = post_import(limited.base, in_pieces(over_the_limit()))
    # Then it is a 413 once the limit is passed, and what was staged is gone
    assert_too_large(resp)
    assert limited.left_behind() == before


def test_a_gzip_body_that_inflates_past_the_limit_is_413_and_leaves_nothing(
    limited: ImportStack,
) -> None:
    before = limited.left_behind()
    # Given a gzipped file far under the limit that inflates to 30 times it
    rows = csv_text(rows_in(2038, 50)).encode()
    header, _, data = rows.partition(b"\n")
    inflated = header + b"\n" + data * (30 * LIMIT // len(data))
    body = gzip.compress(inflated)
    assert len(body) < LIMIT // 4 and len(inflated) > 20 * LIMIT
    # When it is posted, with its length and streamed
    for sent in (body, in_pieces(body, 1024)):
        resp = post_import(limited.base, sent, {"Content-Encoding": "gzip"})
        # Then each is a 413 and nothing is left behind
        assert_too_large(resp)
        assert limited.left_behind() == before
