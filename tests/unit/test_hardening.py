"""Pieces hardened after an outside probe, tested without running processes."""

from __future__ import annotations

import base64
import logging
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from marshmallow import ValidationError

from app.http import cursor
from app.http.prefer import parse_wait
from app.server import BoundedSocket, ReadTimedOut, SlowReadersBusy, classify, problem_bytes
from devstack.__main__ import terminal_env
from jobs.logs import SUCCESS_LINE, DropReturnValue
from kinds.reports.catalogue import REPORT_TYPES
from kinds.reports.request import ReportRequestSchema, normalised

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("wait=" + "9" * 5000, 60),
        ("wait=" + "0" * 5000 + "7", 7),
        ('wait="' + "1" * 20 + '"', 60),
        ("wait=5", 5),
        ("wait=\u0665", None),
        ("wait=-1", None),
    ],
)
def test_parse_wait_never_raises_and_caps_long_numbers(header: str, expected: int | None) -> None:
    assert parse_wait([header], 60) == expected


def test_a_cursor_of_a_huge_integer_is_a_bad_cursor() -> None:
    text = "[" + "9" * 400 + ',"3f0c2f52-1d3b-4a7e-9b1c-2f0c2f521d3b"]'
    raw = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    with pytest.raises(cursor.BadCursor):
        cursor.decode(raw)


@pytest.mark.parametrize(
    "year", ["\u0662\u0660\u0662\u0663", "\uff12\uff10\uff12\uff13", " 2023 ", "2023\n"]
)
def test_years_must_be_ascii_digits(year: str) -> None:
    with pytest.raises(ValidationError):
        REPORT_TYPES["yearly-sales"].schema.load({"year": year})


def test_parameters_are_normalised_in_the_json_type_given() -> None:
    top = REPORT_TYPES["top-products"]
    assert normalised(top, {"from": "2023-01-01", "to": "2023-02-01", "limit": "010"}) == {
        "from": "2023-01-01",
        "to": "2023-02-01",
        "limit": "10",
    }
    schema = ReportRequestSchema(dict(REPORT_TYPES))
    body = schema.load({"reportType": "yearly-sales", "parameters": {"year": 2023}})
    assert body["parameters"] == {"year": 2023}


def test_noop_numbers_take_ascii_only() -> None:
    noop = REPORT_TYPES["noop"].schema
    assert noop.load({"steps": "3", "stepSeconds": "0.5"})["stepSeconds"] == 0.5
    for bad in ({"steps": "\u0663"}, {"stepSeconds": "\u0661.5"}, {"stepSeconds": True}):
        with pytest.raises(ValidationError):
            noop.load(bad)


def test_celery_success_lines_carry_no_result() -> None:
    assert "return_value" not in SUCCESS_LINE


def test_dev_serve_logs_text_on_a_terminal_unless_told_otherwise() -> None:
    assert terminal_env({}, True)["LOG_FORMAT"] == "text"
    assert "LOG_FORMAT" not in terminal_env({}, False)
    assert terminal_env({"LOG_FORMAT": "json"}, True)["LOG_FORMAT"] == "json"


def test_the_dockerfile_installs_dependencies_before_it_copies_the_code() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    first_code = min(
        i for i, line in enumerate(lines) if re.match(r"COPY (app|jobs|kinds)\b", line)
    )
    installs = [i for i, line in enumerate(lines) if "pip install -r" in line]
    assert installs and installs[0] < first_code
    before = "\n".join(lines[:first_code])
    assert before.index("COPY pyproject.toml ./") < before.index("pip install -r")


def test_gunicorn_rejections_become_problem_responses() -> None:
    assert classify(ReadTimedOut())[0] == 408
    assert classify(SlowReadersBusy())[0] == 503
    raw = problem_bytes(408, "Request timeout", "request-timeout", "late", "/api/reports")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"Content-Type: application/problem+json" in head
    assert b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head


def test_celery_success_records_lose_their_return_value() -> None:
    record = logging.LogRecord("celery.app.trace", logging.INFO, "", 0, SUCCESS_LINE, None, None)
    context = {"id": "j", "name": "reports.noop", "return_value": "{'summary': 1}", "runtime": 0.1}
    record.args, record.data = context, dict(context)
    assert DropReturnValue().filter(record)
    assert "summary" not in record.getMessage() and "return_value" not in record.data


class Limits:
    """ReadLimits without WebSettings: short bounds for a test."""

    def __init__(self, idle: float, header: float, slots: int) -> None:
        self.idle, self.header = idle, header
        self.slots = threading.BoundedSemaphore(slots)


def test_a_large_body_at_a_steady_pace_is_never_cut_off() -> None:
    # Given a body of 8 MB sent in pieces, each pause under the idle bound, 3 bounds in all
    server, client = socket.socketpair()
    sock = BoundedSocket(server, Limits(idle=0.3, header=0.3, slots=1))  # type: ignore[arg-type]
    sock.start_body()
    piece, pieces = b"x" * (1 << 20), 8

    def send() -> None:
        for _ in range(pieces):
            client.sendall(piece)
            time.sleep(0.12)
        client.close()

    sender = threading.Thread(target=send)
    started = time.monotonic()
    sender.start()
    received = 0
    while chunk := sock.recv(1 << 20):
        received += len(chunk)
    sender.join()
    # Then all of it arrives, long after one idle bound
    assert received == pieces * len(piece)
    assert time.monotonic() - started > 0.9
    sock.finish_request()
    server.close()


def test_a_stalled_body_times_out_and_a_second_staller_finds_no_slot() -> None:
    limits = Limits(idle=0.2, header=1.0, slots=1)
    pairs = [socket.socketpair() for _ in range(2)]
    first, second = (BoundedSocket(s, limits) for s, _ in pairs)  # type: ignore[arg-type]
    for s in (first, second):
        s.start_body()
    with pytest.raises(ReadTimedOut):
        first.recv(100)  # holds the only slot while it waits
    # (the slot is held until the request ends)
    with pytest.raises(SlowReadersBusy):
        second.recv(100)
    first.finish_request()
    with pytest.raises(ReadTimedOut):
        second.recv(100)
    second.finish_request()
    for a, b in pairs:
        a.close()
        b.close()


def test_headers_get_one_bound_in_all_however_they_trickle() -> None:
    server, client = socket.socketpair()
    sock = BoundedSocket(server, Limits(idle=0.3, header=0.5, slots=1))  # type: ignore[arg-type]
    sock.start_request()
    started = time.monotonic()
    with pytest.raises(ReadTimedOut):
        while True:
            client.send(b"a")
            sock.recv(1)
            time.sleep(0.1)
    assert 0.4 < time.monotonic() - started < 1.0
    sock.finish_request()
    server.close()
    client.close()


def test_a_client_gone_mid_headers_gives_its_slot_back_on_close() -> None:
    limits = Limits(idle=0.2, header=1.0, slots=1)
    server, client = socket.socketpair()
    sock = BoundedSocket(server, limits)  # type: ignore[arg-type]
    sock.start_request()
    # nothing arrives within the grace (the read takes the slot), then the stream ends
    threading.Timer(0.15, client.close).start()
    assert sock.recv(100) == b""  # (gunicorn raises NoMoreData and closes)
    assert not limits.slots.acquire(blocking=False)
    sock.close()
    assert limits.slots.acquire(blocking=False)
