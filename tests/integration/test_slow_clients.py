"""Slow and stalled clients get a 408 and never take every web thread; the requests
gunicorn rejects itself are answered as problem+json."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from devstack.stack import Stack
from tests.integration.imports import csv_lines, post_import
from tests.integration.stacks import extra_stack

pytestmark = pytest.mark.integration

PROBLEM = b"application/problem+json"
IDLE = 1.0
THREADS = 8


@pytest.fixture(scope="module")
def slow_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, sqlite_url: str
) -> Iterator[Stack]:
    """One web process of 8 threads with short read bounds and short streams, one worker."""
    env = {
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": str(THREADS),
        "REQUEST_IDLE_TIMEOUT": str(IDLE),
        "REQUEST_HEADER_TIMEOUT": "2",
        "ENABLE_DIAGNOSTIC_REPORTS": "1",
        # event streams notice a client gone within a second, and end within the mix's window
        "STREAM_KEEPALIVE_SECONDS": "1",
        "MAX_STREAM_SECONDS": "8",
    }
    with extra_stack(tmp_path_factory.mktemp("slow"), redis_url, 11, sqlite_url, env) as s:
        yield s


def connect(stack: Stack) -> socket.socket:
    url = urlsplit(stack.base_url)
    return socket.create_connection((url.hostname, url.port), timeout=30)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (the server closes or sends a length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def exchange(stack: Stack, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(stack) as sock:
        sock.sendall(raw)
        return read_response(sock)


STALLED_UPLOAD = (
    b"POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 100\r\n\r\n{"reportType"'
)


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


def plain_get_times(stack: Stack, location: str, seconds: float) -> list[float]:
    """Durations of plain status GETs, one after another, for `seconds`."""
    times = []
    end = time.monotonic() + seconds
    with requests.Session() as session:
        while time.monotonic() < end:
            started = time.monotonic()
            resp = session.get(f"{stack.base_url}{location}", timeout=30)
            assert resp.status_code == 200
            times.append(time.monotonic() - started)
            time.sleep(0.05)
    return times


def test_plain_gets_find_a_thread_among_long_polls_event_streams_and_stalled_uploads(
    slow_stack: Stack, tmp_path: Path
) -> None:
    # Given a job that never changes in the window (a long noop) to poll, long-poll and watch
    resp = requests.post(
        f"{slow_stack.base_url}/api/reports",
        json={"reportType": "noop", "parameters": {"steps": 1, "stepSeconds": 30}},
        timeout=10,
    )
    location = resp.headers["Location"]
    events_url = f"{slow_stack.base_url}/api/reports/{resp.json()['id']}/events"
    deadline = time.monotonic() + 30
    while (doc := requests.get(f"{slow_stack.base_url}{location}", timeout=10)).json()[
        "state"
    ] != "running":  # its ETag stays the same from here to its 30 s end
        assert time.monotonic() < deadline, doc.text
        time.sleep(0.05)
    etag = doc.headers["ETag"]

    def long_poll() -> bool:
        r = requests.get(
            f"{slow_stack.base_url}{location}",
            headers={"Prefer": "wait=6", "If-None-Match": etag},
            timeout=30,
        )
        assert r.status_code in (200, 304), r.text
        return "Preference-Applied" in r.headers  # it waited (else answered at once)

    holding = threading.Semaphore(0)  # released by each stream once it is held

    def event_stream() -> tuple[int, int]:
        # holds a stream for the whole window, reconnecting like EventSource when it ends
        # or is refused; returns (status events read, 503s)
        read = refused = 0
        end = time.monotonic() + 8
        while time.monotonic() < end:
            with requests.get(events_url, stream=True, timeout=(5, 3)) as r:
                if r.status_code == 503:
                    refused += 1
                    time.sleep(0.3)
                    continue
                assert r.status_code == 200, r.text
                with contextlib.suppress(requests.RequestException):
                    for line in r.iter_lines():
                        if line == b"event: status":
                            read += 1
                            holding.release()
                        if time.monotonic() > end:
                            break
        return read, refused

    def stalled_upload() -> None:
        # reconnects as soon as it is cut off, for the whole window
        end = time.monotonic() + 6
        while time.monotonic() < end:
            with connect(slow_stack) as sock:
                sock.sendall(STALLED_UPLOAD)
                with contextlib.suppress(OSError):
                    read_response(sock)

    # When three event streams are held, then twelve long polls, three more streams and
    # six stalled uploads come, against 8 threads (6 waiting slots, 1 slow-reader slot)
    with concurrent.futures.ThreadPoolExecutor(max_workers=26) as pool:
        streams = [pool.submit(event_stream) for _ in range(3)]
        for _ in streams:
            assert holding.acquire(timeout=10), "an event stream was not held"
        polls = [pool.submit(long_poll) for _ in range(12)]
        streams += [pool.submit(event_stream) for _ in range(3)]
        stalls = [pool.submit(stalled_upload) for _ in range(6)]
        time.sleep(0.5)
        times = plain_get_times(slow_stack, location, 5)
        for f in stalls:
            f.result()
        waited = sum(f.result() for f in polls)
        watched = [f.result() for f in streams]
    # Then every plain GET meanwhile answered quickly
    times.sort()
    (tmp_path / "plain_gets.txt").write_text(" ".join(f"{t:.4f}" for t in times))
    (tmp_path / "mix.txt").write_text(f"long polls waited {waited}; streams {watched}")
    assert len(times) >= 10
    # (0.5-0.6 s at worst seen at load 8; threads taken by the stallers and waits made
    # plain GETs take 5 s and more before the bounded reads: 2 s keeps the margin of a
    # loaded CI machine running four test sessions at once)
    assert times[-1] < 2.0, f"slowest plain GET {times[-1]:.2f}s; p50 {times[len(times) // 2]:.3f}"
    # And the mix was real: streams and long polls both held (a stream's status event read,
    # a long poll's wait applied), the rest answered at once or told to come back (503)
    assert sum(1 for read, _ in watched if read) >= 3 and waited >= 1, (waited, watched)
    assert all(read or refused for read, refused in watched), watched


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
