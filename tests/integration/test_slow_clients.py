"""Slow and stalled clients get a 408 problem after the read bounds, steady slow uploads
are never cut off, and the requests gunicorn rejects itself are answered as problem+json.
(That they never take every web thread: test_slow_clients_threads.py.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from devstack.stack import Stack
from tests.integration.conftest import SLOW_IDLE as IDLE
from tests.integration.imports import csv_lines, post_import
from tests.integration.raw_http import PROBLEM, STALLED_UPLOAD, connect, exchange, read_response

pytestmark = pytest.mark.integration


def test_a_stalled_upload_gets_a_408_problem_after_the_idle_bound(slow_stack: Stack) -> None:
    # Given a client that sends its headers and part of its body, then nothing
    with connect(slow_stack) as sock:
        started = time.monotonic()
        sock.sendall(STALLED_UPLOAD)
        status, headers, body = read_response(sock)
        waited = time.monotonic() - started
    # Then it hears 408 problem+json about when the bound passes, not minutes later
    assert status == 408, body
    assert headers["content-type"] == PROBLEM.decode()
    assert json.loads(body)["status"] == 408
    assert IDLE <= waited < IDLE + 3, waited


def test_slow_headers_get_a_408_problem(slow_stack: Stack) -> None:
    with connect(slow_stack) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        status, headers, body = read_response(sock)
        waited = time.monotonic() - started
    assert status == 408, body
    assert headers["content-type"] == PROBLEM.decode()
    assert waited < 5, waited


def test_a_trickled_header_is_cut_at_the_header_bound(slow_stack: Stack) -> None:
    # Given a client sending a header byte every half second (under the idle bound)
    with connect(slow_stack) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        status = None
        try:
            for byte in b"X-Slow: " + b"a" * 20:
                sock.sendall(bytes([byte]))
                time.sleep(0.5)
        except OSError:
            pass
        status, _, _ = read_response(sock)
        waited = time.monotonic() - started
    # Then the headers' total bound (2 s) ends it
    assert status == 408
    assert waited < 6, waited


def test_an_upload_at_a_steady_slow_pace_is_never_cut_off(slow_stack: Stack) -> None:
    # Given a body sent a few bytes at a time, each pause shorter than the idle bound,
    # taking several times the bound in all
    body = json.dumps({"reportType": "noop", "parameters": {"steps": 1}}).encode()
    with connect(slow_stack) as sock:
        sock.sendall(
            b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        started = time.monotonic()
        for i in range(0, len(body), 10):
            time.sleep(IDLE / 2)
            sock.sendall(body[i : i + 10])
        status, _, answer = read_response(sock)
    assert time.monotonic() - started > 2 * IDLE
    assert status == 202, answer


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n  b\r\n\r\n", 400),
        (b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (
            b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Content-Length: 3\r\n\r\n{}",
            400,
        ),
        (
            b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(120))
            + b"\r\n",
            431,
        ),
    ],
    ids=[
        "control-byte",
        "obs-fold",
        "negative-length",
        "duplicate-length",
        "length-and-chunked",
        "long-request-line",
        "long-header",
        "too-many-headers",
    ],
)
def test_requests_gunicorn_rejects_are_problem_json(
    slow_stack: Stack, raw: bytes, status: int
) -> None:
    got, headers, body = exchange(slow_stack, raw)
    assert got == status, body
    assert headers["content-type"] == PROBLEM.decode()
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]


def test_a_large_import_streamed_at_a_steady_pace_is_not_cut_off(slow_stack: Stack) -> None:
    # Given a CSV upload of ~12 MB sent in 256 KB pieces with pauses, over several idle
    # bounds in all (each pause well under one)
    body = b"".join(csv_lines(2041, 200_000))

    def paced() -> Iterator[bytes]:
        for i in range(0, len(body), 256 * 1024):
            time.sleep(IDLE / 20)
            yield body[i : i + 256 * 1024]

    started = time.monotonic()
    resp = post_import(slow_stack.base_url, paced())
    took = time.monotonic() - started
    # Then it is accepted, not 408
    assert resp.status_code == 202, resp.text
    assert took > 2 * IDLE
    requests.delete(f"{slow_stack.base_url}/api/imports/{resp.json()['id']}", timeout=10)
